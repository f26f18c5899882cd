//! The event log over HTTP: pages (`GET /api/v1/events`) and the live stream
//! (`GET /api/v1/stream`, WebSocket).
//!
//! The stream subscribes to live events *before* reading the backlog, then sends the backlog
//! after `after`, then live events with a higher `seq` than the last one sent: nothing falls in
//! the gap between the two. If a slow client lags behind the broadcast buffer, the stream reads
//! the missed range back from the store. Each WebSocket text frame is one JSON
//! [`StreamFrame`]: the event plus `prev`, the seq sent before it, so clients can tell a gap
//! (something they missed) from events they may not see.
//!
//! A hostile client cannot tie up the relay through streams: a user holds at most
//! `max_streams_per_user` of them on a relay (more are refused with 429 before the upgrade), and
//! a client message or frame larger than [`MAX_CLIENT_MESSAGE`] ends the stream unread.
//!
//! A stream lives only as long as its session: it closes with 1008 "session ended" when the
//! session is ended anywhere in the cluster (the hub is told at once) or has expired (checked
//! every [`SESSION_CHECK`]).

use crate::extract::Query;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_protocol::api::{Event, EventPage, StreamFrame, User};

use crate::auth::{AuthSession, AuthUser};
use crate::error::ApiError;
use crate::store::events as log;
use crate::store::{now_ms, users};
use crate::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// Return events with a larger seq (default 0: from the start).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// 1..=1000, default 500.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// A page of the event log, filtered by what the user may see.
#[utoipa::path(get, path = "/api/v1/events", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = EventPage), (status = 400, body = switchboard_protocol::api::ErrorBody)))]
pub async fn page(
    State(s): State<AppState>,
    AuthUser(user): AuthUser,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(500);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad_request("after must not be negative"));
    }
    // The snapshots are stored as JSON text and go out as they are: clients catching up move
    // hundreds of thousands of them, so the relay does not parse and print each one again.
    let body = s
        .store
        .read(move |c| {
            let head = log::head(c)?;
            let (events, scanned) = log::page_raw(c, after, limit, user.id, user.sees_all())?;
            let mut out =
                String::with_capacity(events.iter().map(|e| e.data.len() + 96).sum::<usize>() + 64);
            out.push_str("{\"events\":[");
            for (i, e) in events.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&format!(
                    "{{\"seq\":{},\"kind\":{},\"conversation_id\":{},\"data\":{},\"at\":{}}}",
                    e.seq,
                    serde_json::to_string(&e.kind)?,
                    e.conversation_id
                        .map_or("null".to_string(), |c| c.to_string()),
                    e.data,
                    e.at
                ));
            }
            out.push_str(&format!(
                "],\"next_after\":{},\"head\":{}}}",
                scanned.max(after),
                head
            ));
            Ok(out)
        })
        .await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StreamQuery {
    /// Send the backlog after this seq first (default 0).
    after: Option<i64>,
}

/// The largest message or frame a client may send on a stream. Clients send next to nothing
/// (pongs, a close); anything bigger ends the stream without being read.
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Live events over a WebSocket (bearer token in the Authorization header): the backlog after
/// `after`, then every new event the user may see, one JSON event per text frame.
#[utoipa::path(get, path = "/api/v1/stream", params(StreamQuery), security(("bearer" = [])),
    responses((status = 101, description = "switching to WebSocket"), (status = 401, body = switchboard_protocol::api::ErrorBody),
              (status = 429, description = "the user holds as many streams on this relay as allowed", body = switchboard_protocol::api::ErrorBody)))]
pub async fn stream(
    State(s): State<AppState>,
    session: AuthSession,
    Query(q): Query<StreamQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let after = q.after.unwrap_or(0).max(0);
    let (user, session_id) = (session.user, session.session_id);
    // Claimed before the upgrade and held until the stream ends (given back if the upgrade fails).
    let place = s
        .hub
        .claim_stream(user.id, s.config.max_streams_per_user)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                format!(
                    "you have {} live streams open on this relay already; close one first",
                    s.config.max_streams_per_user
                ),
            )
        })?;
    // Clients send next to nothing; tungstenite's default 128 KiB read buffer is zeroed on each
    // read, which with hundreds of open streams costs more CPU than everything else together.
    Ok(ws
        .read_buffer_size(4096)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| async move {
            let _place = place;
            // An open stream is what makes an agent present (routing counts it as connected).
            let presence = crate::routing::live::Connection::open(&s.store, user.id).await;
            if let Err(e) = run_stream(s, user, session_id, after, socket).await {
                tracing::debug!(error = %e, "stream ended");
            }
            presence.close().await;
        }))
}

/// A live event as this user may read it (`store::events::for_agent`).
async fn agent_view(s: &AppState, user: &User, e: &Event) -> Result<Event, String> {
    if user.sees_all() || e.kind != switchboard_protocol::api::event_kind::RETENTION_PURGED {
        return Ok(e.clone());
    }
    let (kind, data, uid) = (e.kind.clone(), e.data.to_string(), user.id);
    let data = s
        .store
        .read(move |c| log::for_agent(c, &kind, data, uid))
        .await
        .map_err(|e| e.to_string())?;
    let mut out = e.clone();
    out.data = serde_json::from_str(&data).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Sends one event; `sent` is the seq of the previous event sent on this stream.
async fn send_event(socket: &mut WebSocket, e: &Event, sent: &mut i64) -> Result<(), String> {
    let frame = StreamFrame {
        event: e.clone(),
        prev: *sent,
    };
    let text = serde_json::to_string(&frame).map_err(|e| e.to_string())?;
    socket
        .send(WsMessage::Text(text.into()))
        .await
        .map_err(|e| e.to_string())?;
    *sent = e.seq;
    Ok(())
}

async fn catch_up(
    s: &AppState,
    user: &User,
    socket: &mut WebSocket,
    mut last: i64,
    sent: &mut i64,
) -> Result<i64, String> {
    loop {
        let (uid, sees_all) = (user.id, user.sees_all());
        let (events, scanned) = s
            .store
            .read(move |c| log::page(c, last, 500, uid, sees_all))
            .await
            .map_err(|e| e.to_string())?;
        for e in &events {
            send_event(socket, &e.event, sent).await?;
        }
        if scanned <= last {
            return Ok(last);
        }
        last = scanned;
    }
}

/// How often an open stream checks that its session is still live (expiry, idle time) and that
/// its user's role still grants what the stream was opened with; ended sessions close their
/// streams sooner, through the hub.
const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(30);
/// An open stream counts as use of its session this often (idle expiry is measured in hours).
const SESSION_TOUCH_MS: i64 = 10 * 60 * 1000;

/// Closes the stream telling the client that its session ended (it must sign in again).
async fn close_ended(socket: &mut WebSocket) {
    let _ = socket
        .send(WsMessage::Close(Some(axum::extract::ws::CloseFrame {
            code: axum::extract::ws::close_code::POLICY,
            reason: "session ended".into(),
        })))
        .await;
}

async fn run_stream(
    s: AppState,
    user: User,
    session_id: i64,
    after: i64,
    mut socket: WebSocket,
) -> Result<(), String> {
    // Registered before the backlog is read: nothing falls between the two.
    let mut live = s.hub.subscribe(user.id, user.sees_all(), session_id);
    let mut check = tokio::time::interval(SESSION_CHECK);
    check.reset();
    let mut touched = now_ms();
    let mut sent = after;
    let mut last = catch_up(&s, &user, &mut socket, after, &mut sent).await?;
    let mut ping = tokio::time::interval(std::time::Duration::from_secs(25));
    let draining = s.lifecycle.draining();
    tokio::pin!(draining);
    loop {
        tokio::select! {
            _ = &mut draining => {
                // The relay is shutting down: tell the client to resume elsewhere from its cursor.
                let _ = socket
                    .send(WsMessage::Close(Some(axum::extract::ws::CloseFrame {
                        code: axum::extract::ws::close_code::AWAY,
                        reason: "going away".into(),
                    })))
                    .await;
                return Ok(());
            }
            ev = live.events.recv() => match ev {
                // Only events this user may see arrive here, in seq order.
                Some(ev) => {
                    if ev.event.seq <= last { continue; }
                    let event = agent_view(&s, &user, &ev.event).await?;
                    send_event(&mut socket, &event, &mut sent).await?;
                    last = ev.event.seq;
                }
                None => return Ok(()),
            },
            _ = live.lagged.notified() => {
                // Events may have been dropped for this stream: read the range from the store.
                last = catch_up(&s, &user, &mut socket, last, &mut sent).await?;
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return Ok(()),
                Some(Ok(_)) => {}
            },
            _ = live.ended.notified() => {
                close_ended(&mut socket).await;
                return Ok(());
            }
            _ = check.tick() => {
                let idle = s.config.session_idle.as_millis() as i64;
                let now = now_ms();
                let uid = user.id;
                let (alive, current) = s
                    .store
                    .read(move |c| Ok((users::session_live(c, session_id, now, idle)?, users::user(c, uid)?)))
                    .await
                    .map_err(|e| e.to_string())?;
                if !alive {
                    close_ended(&mut socket).await;
                    return Ok(());
                }
                if current.sees_all() != user.sees_all() {
                    // The role now shows more or less: the client reconnects (same token, from its
                    // cursor) and the new stream follows the new rule.
                    let _ = socket
                        .send(WsMessage::Close(Some(axum::extract::ws::CloseFrame {
                            code: axum::extract::ws::close_code::RESTART,
                            reason: "permissions changed".into(),
                        })))
                        .await;
                    return Ok(());
                }
                if now - touched > SESSION_TOUCH_MS {
                    touched = now;
                    s.store
                        .write(move |ctx| users::touch_session(ctx.conn, session_id, ctx.now))
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            _ = ping.tick() => {
                socket.send(WsMessage::Ping(Vec::new().into())).await.map_err(|e| e.to_string())?;
            }
        }
    }
}
