//! Switchboard relay: the hosted server that alone holds the Cloud API credentials.
//!
//! It owns: verifying and durably storing inbound webhooks (`api::webhooks`, `store::ingest`),
//! the event log every client syncs from (`store::events`, `api::events`), sending through the
//! Graph API with a durable, retrying queue (`store::outbox`, `sender`, `graph`), users and
//! roles (`auth`), media proxying (`media`) and the admin CLI (`main.rs`).
//!
//! The server is a library: [`serve`] takes a config, a bound listener and a shutdown future,
//! so tests bind `127.0.0.1:0` and run the real thing.

pub mod api;
pub mod archive;
pub mod auth;
pub mod backup;
pub mod client_ip;
pub mod cluster;
pub mod config;
pub mod credentials;
pub mod error;
pub mod extract;
pub mod graph;
pub mod hub;
pub mod media;
pub mod metrics;
pub mod policy;
pub mod retention;
pub mod routing;
pub mod secrets;
pub mod sender;
pub mod server;
pub mod store;
pub mod template_sync;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use switchboard_protocol::api::PhoneNumber;
use tokio::sync::{Notify, Semaphore};

use config::{Config, DatabaseUrl};
use graph::GraphClient;
use metrics::Metrics;
use store::Store;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// How often routing checks grace periods, waiting alerts and the queue.
pub const ROUTING_TICK: Duration = Duration::from_secs(1);
/// How often each relay looks for ended sessions whose streams it must close.
pub const REVOCATION_POLL: Duration = Duration::from_secs(1);
/// How often the leader purges expired sessions and old idempotency keys.
pub const PURGE_EVERY: Duration = Duration::from_secs(15 * 60);
/// How often the sign-in limiter forgets emails and addresses it no longer limits (every one
/// tried is remembered until then, so a flood of made-up ones cannot grow it without bound).
pub const LOGIN_LIMITER_PRUNE: Duration = Duration::from_secs(60);

/// Shared state of the running relay: cheap to clone, every part behind an `Arc`.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub graph: GraphClient,
    pub metrics: Arc<Metrics>,
    pub sender_wake: Arc<Notify>,
    /// Rings the retention purge (a retention was set or shortened).
    pub retention_wake: Arc<Notify>,
    pub login_limiter: Arc<DefaultKeyedRateLimiter<String>>,
    pub media: Arc<media::MediaCache>,
    /// Inbound media kept for good (downloaded on arrival by the leader).
    pub archive: Arc<archive::Archive>,
    /// The compiled outbound policy and automations (swapped when admins change settings).
    pub policy: Arc<policy::PolicyEngine>,
    /// Send-rate state shared by the sender, /metrics and the queue route.
    pub limiter: Arc<std::sync::Mutex<policy::ratelimit::Limiter>>,
    pub templates: Arc<template_sync::TemplateSync>,
    /// Live events to open streams, by audience.
    pub hub: Arc<hub::Hub>,
    /// Serving or draining (after SIGTERM).
    pub lifecycle: Arc<cluster::Lifecycle>,
    /// Sign-in lockouts already audited this minute.
    pub lockouts: Arc<auth::Lockouts>,
    /// Turns to check a password (argon2 on the blocking pool that every store read uses): one
    /// per core, so a flood of sign-ins cannot starve the reads.
    pub password_checks: Arc<Semaphore>,
}

impl AppState {
    /// Re-reads per-number rate settings into the limiter.
    pub async fn reload_rate_limits(&self) -> Result<(), store::StoreError> {
        let limits = self.store.read(store::policy::rate_limits).await?;
        let mut l = self.limiter.lock().expect("limiter lock");
        for (pnid, s) in limits {
            l.set(&pnid, s);
        }
        Ok(())
    }
}

/// Opens the store named by the config.
pub fn open_store(config: &Config) -> Result<Store, store::StoreError> {
    match &config.database {
        DatabaseUrl::Sqlite(path) => Store::open(path),
        DatabaseUrl::Postgres(url) => Store::open_postgres(url.expose()),
    }
}

/// Runs the relay on `listener` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    let store = open_store(&config)?;
    let result = serve_with_store(config, store.clone(), listener, shutdown).await;
    store.close();
    result
}

pub async fn serve_with_store(
    config: Config,
    store: Store,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    // No stream survives a restart: agents who had one start their grace period now. (With
    // several relays on PostgreSQL the other relays' streams are still open: leave the counts.)
    if store.backend() == store::Backend::Sqlite {
        store.write(store::routing::reset_connections).await?;
    }
    // Numbers from the config file are (re)adopted as configured at every start; one that was
    // unconfigured releases its held conversations (routed to agents present now, hence after
    // the reset above).
    let numbers = config.numbers.clone();
    store
        .write(move |ctx| {
            for n in &numbers {
                let pn = PhoneNumber {
                    phone_number_id: n.phone_number_id.clone(),
                    display_phone_number: n.display_phone_number.clone(),
                    name: n.name.clone(),
                    configured: true,
                };
                store::numbers::add_number(ctx, &pn, n.waba_id.as_deref())?;
            }
            Ok(())
        })
        .await?;
    let leadership = cluster::Leadership::for_location(store.location());
    let policy = Arc::new(policy::PolicyEngine::default());
    policy.reload(&store).await?;
    // Bodies acknowledged before a crash but not applied yet.
    recover_inbox_with(&store, Some(&policy)).await?;

    let per_minute =
        std::num::NonZeroU32::new(config.login_attempts_per_minute).expect("validated >= 1");
    let send_rate = config.send_rate;
    let pause_base = (config.send_backoff_base.as_millis() as i64 * 2).max(1);
    let state = AppState {
        graph: GraphClient::new(&config),
        media: Arc::new(media::MediaCache::new(
            config.data_dir.join("media"),
            config.media_cache_bytes,
        )),
        archive: Arc::new(archive::Archive::new(&config)),
        config: Arc::new(config),
        store: store.clone(),
        metrics: Arc::new(Metrics::default()),
        sender_wake: Arc::new(Notify::new()),
        retention_wake: Arc::new(Notify::new()),
        login_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
        limiter: Arc::new(std::sync::Mutex::new(
            policy::ratelimit::Limiter::new(send_rate).with_pause_base(pause_base),
        )),
        policy,
        templates: Arc::new(template_sync::TemplateSync::default()),
        hub: hub::Hub::start(&store),
        lifecycle: Arc::new(cluster::Lifecycle::default()),
        lockouts: Arc::new(auth::Lockouts::default()),
        password_checks: Arc::new(Semaphore::new(
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        )),
    };
    state.reload_rate_limits().await?;
    // Credentials per business account (sealed in the store).
    state.graph.creds.reload(&store).await?;
    let creds_reload = tokio::spawn({
        let (store, creds) = (store.clone(), state.graph.creds.clone());
        async move {
            loop {
                tokio::time::sleep(credentials::RELOAD_EVERY).await;
                if let Err(e) = creds.reload(&store).await {
                    tracing::error!(error = %e, "credentials not reread");
                }
            }
        }
    });
    // Templates: synced in the background, so an unreachable Graph API does not delay start-up.
    // Once per cluster: only the leader syncs templates.
    let template_task = tokio::spawn({
        let (st, graph, sync) = (store.clone(), state.graph.clone(), state.templates.clone());
        let mut leadership = leadership.clone();
        async move {
            leadership.until_leader().await;
            sync.sync_all(&st, &graph).await;
        }
    });
    // Inbound media to the archive, once per cluster.
    let archiver = tokio::spawn(archive::run(
        store.clone(),
        state.graph.clone(),
        state.archive.clone(),
        leadership.clone(),
    ));
    let stop = Arc::new(Notify::new());
    let sender = tokio::spawn(run_sender_while_leading(
        state.clone(),
        leadership.clone(),
        stop.clone(),
    ));
    // A send accepted by another relay reaches the leader's sender through the event log.
    let wake_task = (store.backend() == store::Backend::Postgres).then(|| {
        let mut events = store.subscribe();
        let wake = state.sender_wake.clone();
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match events.recv().await {
                    // Only a queued send concerns the sender, not every event of the log.
                    Ok(ev) if !is_outbound_created(&ev.event) => {}
                    Ok(_) | Err(RecvError::Lagged(_)) => wake.notify_one(),
                    Err(RecvError::Closed) => break,
                }
            }
        })
    });
    let sweeper = tokio::spawn({
        let store = store.clone();
        let policy = state.policy.clone();
        let leadership = leadership.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                if !leadership.is_leader() {
                    continue;
                }
                if let Err(e) = recover_inbox_with(&store, Some(&policy)).await {
                    tracing::error!(error = %e, "inbox sweep failed");
                }
            }
        }
    });
    // Routing's clock: grace periods running out, waiting alerts, and the queue.
    let router_tick = tokio::spawn({
        let store = store.clone();
        let leadership = leadership.clone();
        async move {
            let mut every = tokio::time::interval(ROUTING_TICK);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if !leadership.is_leader() {
                    continue;
                }
                if let Err(e) = store.write(store::routing::tick).await {
                    tracing::error!(error = %e, "routing tick failed");
                }
            }
        }
    });
    // Every relay beats; the leader sweeps relays that stopped beating (their streams are gone).
    let heartbeat = tokio::spawn({
        let store = store.clone();
        let leadership = leadership.clone();
        async move {
            let mut every = tokio::time::interval(cluster::HEARTBEAT);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let me = store.instance_id().to_string();
                if let Err(e) = store
                    .write(move |ctx| store::routing::heartbeat(ctx, &me))
                    .await
                {
                    tracing::error!(error = %e, "heartbeat not recorded");
                }
                if leadership.is_leader() {
                    let dead_before = store::now_ms() - cluster::DEAD_AFTER.as_millis() as i64;
                    match store
                        .write(move |ctx| store::routing::sweep_dead_instances(ctx, dead_before))
                        .await
                    {
                        Ok(0) => {}
                        Ok(n) => tracing::warn!(relays = n, "swept relays that stopped beating"),
                        Err(e) => tracing::error!(error = %e, "sweeping dead relays failed"),
                    }
                }
            }
        }
    });
    // Ended sessions close their streams on every relay: each polls the revocations.
    let revocations = tokio::spawn(watch_revocations(store.clone(), state.hub.clone()));
    // Expired sessions, old idempotency keys and revocations go, once per cluster.
    let purger = tokio::spawn({
        let store = store.clone();
        let leadership = leadership.clone();
        let idle = state.config.session_idle.as_millis() as i64;
        async move {
            let mut every = tokio::time::interval(PURGE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if !leadership.is_leader() {
                    continue;
                }
                match store
                    .write(move |ctx| store::users::purge(ctx.conn, ctx.now, idle))
                    .await
                {
                    Ok(p) => tracing::debug!(?p, "purged expired bookkeeping"),
                    Err(e) => tracing::error!(error = %e, "purging expired sessions failed"),
                }
            }
        }
    });
    // Past each number's retention, once per cluster.
    let retention_task = tokio::spawn(retention::run(
        state.clone(),
        leadership.clone(),
        state.retention_wake.clone(),
    ));
    // Every email and address tried stays in the limiter until pruned.
    let limiter_pruner = tokio::spawn({
        let limiter = state.login_limiter.clone();
        async move {
            let mut every = tokio::time::interval(LOGIN_LIMITER_PRUNE);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    });
    let lifecycle = state.lifecycle.clone();
    let limits = server::Limits {
        max_connections: state.config.max_connections,
        header_read_timeout: state.config.header_read_timeout,
    };
    let app = api::router(state);
    tracing::info!(addr = %listener.local_addr()?, "switchboard-relay listening");
    let stop2 = stop.clone();
    server::serve(listener, app, limits, async move {
        shutdown.await;
        // Draining: readiness answers 503 and every stream is closed with "going away"; requests
        // already in flight finish; then the listener closes.
        tracing::info!("draining: refusing new work, closing streams");
        lifecycle.drain();
        stop2.notify_waiters();
    })
    .await;
    heartbeat.abort();
    revocations.abort();
    purger.abort();
    retention_task.abort();
    limiter_pruner.abort();
    let me = store.instance_id().to_string();
    let _ = store
        .write(move |ctx| store::routing::leave(ctx, &me))
        .await;
    stop.notify_waiters();
    sweeper.abort();
    router_tick.abort();
    template_task.abort();
    archiver.abort();
    creds_reload.abort();
    if let Some(t) = wake_task {
        t.abort();
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), sender).await;
    Ok(())
}

/// Closes the streams of sessions ended anywhere in the cluster (this relay's own included).
async fn watch_revocations(store: Store, hub: Arc<hub::Hub>) {
    let mut after = store
        .read(store::users::revocations_head)
        .await
        .unwrap_or(0);
    let mut every = tokio::time::interval(REVOCATION_POLL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match store
            .read(move |c| store::users::revocations_since(c, after))
            .await
        {
            Ok(rows) => {
                for r in rows {
                    after = after.max(r.id);
                    let closed = hub.revoke(r.user_id, r.session_id);
                    if closed > 0 {
                        tracing::info!(
                            user_id = r.user_id,
                            streams = closed,
                            "closed the streams of an ended session"
                        );
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading session revocations failed"),
        }
    }
}

fn is_outbound_created(e: &switchboard_protocol::api::Event) -> bool {
    e.kind == switchboard_protocol::api::event_kind::MESSAGE_CREATED
        && e.data.get("direction").and_then(|d| d.as_str()) == Some("outbound")
}

/// Runs the outbox sender while this relay leads the cluster (always, on SQLite); stops it when
/// leadership is lost, and for good when `stop` is notified.
async fn run_sender_while_leading(
    state: AppState,
    mut leadership: cluster::Leadership,
    stop: Arc<Notify>,
) {
    use std::sync::atomic::Ordering::Relaxed;
    loop {
        tokio::select! {
            _ = leadership.until_leader() => {}
            _ = stop.notified() => return,
        }
        state.metrics.leader.store(1, Relaxed);
        let term = Arc::new(Notify::new());
        let mut run = tokio::spawn(sender::run(
            state.store.clone(),
            state.graph.clone(),
            sender::SenderConfig {
                max_attempts: state.config.send_max_attempts,
                backoff_base: state.config.send_backoff_base,
                backoff_max: state.config.send_backoff_max,
            },
            state.sender_wake.clone(),
            state.metrics.clone(),
            state.limiter.clone(),
            term.clone(),
        ));
        tokio::select! {
            _ = leadership.until_follower() => {
                tracing::warn!("no longer the cluster leader: the sender stops here");
                term.notify_one();
                let _ = (&mut run).await;
            }
            _ = stop.notified() => {
                term.notify_one();
                let _ = run.await;
                state.metrics.leader.store(0, Relaxed);
                return;
            }
            // The sender ends only when told to; if it ever stops by itself (a panic), the
            // queue must not stall while this relay keeps the lead: start it again.
            ended = &mut run => {
                tracing::error!(panicked = ended.is_err(), "the sender stopped unexpectedly; restarting it");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        state.metrics.leader.store(0, Relaxed);
    }
}

/// Applies every acknowledged body still pending (after a crash, or after a failed apply).
pub async fn recover_inbox(store: &Store) -> Result<(), store::StoreError> {
    recover_inbox_with(store, None).await
}

/// Like [`recover_inbox`], running the automations of `policy` for recovered messages.
pub async fn recover_inbox_with(
    store: &Store,
    policy: Option<&policy::PolicyEngine>,
) -> Result<(), store::StoreError> {
    let compiled = policy.map(|p| p.current());
    let mut after = 0;
    loop {
        let c = compiled.clone();
        let (n, last) = store
            .write(move |ctx| store::ingest::process_pending(ctx, after, 200, c.as_deref()))
            .await?;
        if n < 200 {
            return Ok(());
        }
        after = last;
    }
}
