//! Live fan-out of committed events to open streams, by audience.
//!
//! The store broadcasts every committed event once. Handing that broadcast to every stream
//! would wake each of them for every event (500 agents x 2,000 events/s is a million wake-ups a
//! second, more than two cores do); the hub reads the broadcast in one task and forwards each
//! event only to the streams whose user may see it, so the work follows the audience, not the
//! number of connections.
//!
//! Sessions: every stream belongs to a session; [`Hub::revoke`] closes the streams of ended
//! sessions (the relay polls `session_revocations`, so a logout on another relay reaches them).
//!
//! Places: a user holds at most `max_streams_per_user` streams on a relay; a stream claims its
//! place ([`Hub::claim_stream`]) before the WebSocket upgrade and gives it back when it ends.
//!
//! Order and completeness: events are forwarded in `seq` order. A stream registers *before*
//! reading its backlog, so nothing falls between the two (duplicates are skipped by `seq`). If a
//! stream's queue is full, or the hub itself lagged behind the broadcast, the stream is told to
//! re-read from the store ([`Subscription::lagged`]), as it did with the broadcast.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast::error::RecvError, mpsc, Notify};

use crate::store::{LoggedEvent, Store};

/// Events queued per stream before it must re-read from the store.
const QUEUE: usize = 4096;

struct Sub {
    user_id: i64,
    /// The user's role granted `see_all_conversations` when the stream opened (a stream whose
    /// role changes is closed and reopened, see `api::events`).
    sees_all: bool,
    session_id: i64,
    tx: mpsc::Sender<Arc<LoggedEvent>>,
    lagged: Arc<Notify>,
    ended: Arc<Notify>,
}

#[derive(Default)]
pub struct Hub {
    subs: Mutex<HashMap<u64, Sub>>,
    next: AtomicU64,
    /// Streams open or being opened, by user.
    places: Mutex<HashMap<i64, usize>>,
}

/// A user's place among their open streams, given back when dropped.
pub struct StreamPlace {
    user_id: i64,
    hub: Arc<Hub>,
}

impl Drop for StreamPlace {
    fn drop(&mut self) {
        let mut places = self.hub.places.lock().expect("hub lock");
        if let Some(n) = places.get_mut(&self.user_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                places.remove(&self.user_id);
            }
        }
    }
}

/// One stream's live events.
pub struct Subscription {
    pub events: mpsc::Receiver<Arc<LoggedEvent>>,
    /// Notified when events may have been dropped: re-read from the store.
    pub lagged: Arc<Notify>,
    /// Notified when the stream's session ended (logout, deactivation, ...): close it.
    pub ended: Arc<Notify>,
    id: u64,
    hub: Arc<Hub>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.subs.lock().expect("hub lock").remove(&self.id);
    }
}

impl Hub {
    /// Starts forwarding `store`'s committed events.
    pub fn start(store: &Store) -> Arc<Hub> {
        let hub = Arc::new(Hub::default());
        let mut rx = store.subscribe();
        let h = hub.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => h.dispatch(&ev),
                    Err(RecvError::Lagged(_)) => {
                        for s in h.subs.lock().expect("hub lock").values() {
                            s.lagged.notify_one();
                        }
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
        hub
    }

    fn dispatch(&self, ev: &Arc<LoggedEvent>) {
        let subs = self.subs.lock().expect("hub lock");
        for s in subs.values() {
            if ev.audience.admits(s.user_id, s.sees_all) && s.tx.try_send(ev.clone()).is_err() {
                s.lagged.notify_one();
            }
        }
    }

    pub fn subscribe(
        self: &Arc<Self>,
        user_id: i64,
        sees_all: bool,
        session_id: i64,
    ) -> Subscription {
        let (tx, events) = mpsc::channel(QUEUE);
        let lagged = Arc::new(Notify::new());
        let ended = Arc::new(Notify::new());
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.subs.lock().expect("hub lock").insert(
            id,
            Sub {
                user_id,
                sees_all,
                session_id,
                tx,
                lagged: lagged.clone(),
                ended: ended.clone(),
            },
        );
        Subscription {
            events,
            lagged,
            ended,
            id,
            hub: self.clone(),
        }
    }

    /// Closes the streams of a user's session (`Some`) or of all their sessions (`None`).
    /// Returns how many were told.
    pub fn revoke(&self, user_id: i64, session_id: Option<i64>) -> usize {
        let subs = self.subs.lock().expect("hub lock");
        let mut n = 0;
        for s in subs.values() {
            if s.user_id == user_id && session_id.is_none_or(|id| id == s.session_id) {
                s.ended.notify_one();
                n += 1;
            }
        }
        n
    }

    /// Claims one of `user_id`'s `cap` places for a stream; `None` when all are taken.
    pub fn claim_stream(self: &Arc<Self>, user_id: i64, cap: usize) -> Option<StreamPlace> {
        let mut places = self.places.lock().expect("hub lock");
        let taken = places.get(&user_id).copied().unwrap_or(0);
        if taken >= cap {
            return None;
        }
        places.insert(user_id, taken + 1);
        Some(StreamPlace {
            user_id,
            hub: self.clone(),
        })
    }

    /// Streams `user_id` holds open (or is opening) on this relay.
    pub fn streams_of(&self, user_id: i64) -> usize {
        self.places
            .lock()
            .expect("hub lock")
            .get(&user_id)
            .copied()
            .unwrap_or(0)
    }

    /// Open streams right now.
    pub fn len(&self) -> usize {
        self.subs.lock().expect("hub lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_holds_at_most_cap_streams_and_an_ended_one_frees_its_place() {
        let hub = Arc::new(Hub::default());
        let a = hub.claim_stream(1, 2).expect("first place");
        let b = hub.claim_stream(1, 2).expect("second place");
        assert!(hub.claim_stream(1, 2).is_none(), "a third is refused");
        assert_eq!(hub.streams_of(1), 2);
        // Another user has places of their own.
        let c = hub.claim_stream(2, 2).expect("another user");
        drop(a);
        assert_eq!(hub.streams_of(1), 1);
        let d = hub.claim_stream(1, 2).expect("a freed place");
        assert!(hub.claim_stream(1, 2).is_none());
        drop((b, c, d));
        assert_eq!((hub.streams_of(1), hub.streams_of(2)), (0, 0));
        assert!(hub.places.lock().unwrap().is_empty(), "nothing left behind");
    }
}
