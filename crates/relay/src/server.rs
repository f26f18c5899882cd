//! Accepting connections: HTTP/1.1 (with WebSocket upgrades) under the router, with limits no
//! client can outwait.
//!
//! - A connection has `header_read_timeout` to send each request's headers; a half-sent request
//!   is dropped then, and so is a keep-alive connection left idle that long.
//! - At most `max_connections` are open at once; one over the limit is accepted and closed at
//!   once, unread. A WebSocket keeps its connection's place until it closes.
//! - `TCP_NODELAY`: stream frames and API answers are small writes; with Nagle's algorithm they
//!   wait for the peer's delayed ACK (40 ms on Linux), which was the whole tail of the
//!   webhook-to-assignment latency.
//! - Handlers see the peer as `ConnectInfo<SocketAddr>`.
//! - At shutdown the listener closes, idle connections close, requests in flight finish, and
//!   [`serve`] returns once every connection has ended (upgraded WebSockets are the streams'
//!   own business: the relay closes them with "going away" while draining).

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

/// What a connection may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// Connections refused over the limit are logged at most this often.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` resolves, then drains (see the module docs).
pub async fn serve<F>(listener: TcpListener, app: Router, limits: Limits, shutdown: F)
where
    F: Future<Output = ()> + Send,
{
    let places = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    // Flips to true when shutdown begins; every connection watches it.
    let (draining_tx, draining_rx) = watch::channel(false);
    // Every connection holds a receiver: once all are dropped, every connection has ended.
    let (ended_tx, ended_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    let mut refused = Refusals::default();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(place) = places.clone().try_acquire_owned() else {
            // Dropping the socket closes it before a byte is read.
            drop(tcp);
            refused.note(limits.max_connections);
            continue;
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let inner = TowerToHyperService::new(app.clone());
        let service = service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            hyper::service::Service::call(&inner, req)
        });
        let conn = http
            .serve_connection(TokioIo::new(Counted { tcp, _place: place }), service)
            .with_upgrades();
        let mut draining = draining_rx.clone();
        let ended = ended_rx.clone();
        tokio::spawn(async move {
            let mut conn = pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = draining.changed() => {
                    // Idle: closes now; busy: finishes its request, then closes.
                    conn.as_mut().graceful_shutdown();
                    conn.as_mut().await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(ended);
        });
    }
    drop(listener);
    let _ = draining_tx.send(true);
    drop(ended_rx);
    ended_tx.closed().await;
}

/// An accept that failed: a connection that went away before it was accepted is nobody's
/// concern; anything else (out of file descriptors) is logged and waited out instead of spun on.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Counts connections refused over the limit, logging now and then rather than each one.
#[derive(Default)]
struct Refusals {
    since_log: u64,
    logged_at: Option<Instant>,
}

impl Refusals {
    fn note(&mut self, limit: usize) {
        self.since_log += 1;
        if self
            .logged_at
            .is_none_or(|at| at.elapsed() >= REFUSAL_LOG_EVERY)
        {
            tracing::warn!(
                refused = self.since_log,
                limit,
                "connections refused: max_connections are open"
            );
            self.since_log = 0;
            self.logged_at = Some(Instant::now());
        }
    }
}

/// A connection's socket with its place among `max_connections`, given back when the socket is
/// dropped (after an upgrade the socket lives on in the WebSocket, and so does the place).
struct Counted {
    tcp: TcpStream,
    _place: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}
