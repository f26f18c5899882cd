//! The thin shell between live connections and presence: a stream that opens counts the agent as
//! connected, and its end (however it ends) starts their grace period.

use crate::store::{routing as sql, Store};

/// One open stream of a user.
pub struct Connection {
    store: Store,
    user: i64,
    open: bool,
}

impl Connection {
    pub async fn open(store: &Store, user: i64) -> Connection {
        let instance = store.instance_id().to_string();
        let ok = store
            .write(move |ctx| sql::connected(ctx, &instance, user))
            .await;
        if let Err(e) = &ok {
            tracing::warn!(user_id = user, error = %e, "presence: connect not recorded");
        }
        Connection {
            store: store.clone(),
            user,
            open: ok.is_ok(),
        }
    }

    pub async fn close(mut self) {
        self.open = false;
        let user = self.user;
        let instance = self.store.instance_id().to_string();
        if let Err(e) = self
            .store
            .write(move |ctx| sql::disconnected(ctx, &instance, user))
            .await
        {
            tracing::warn!(user_id = user, error = %e, "presence: disconnect not recorded");
        }
    }
}

impl Drop for Connection {
    /// A stream task that was cancelled (server shutdown) still records the disconnect.
    fn drop(&mut self) {
        if self.open {
            let (store, user) = (self.store.clone(), self.user);
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let instance = store.instance_id().to_string();
                    let _ = store
                        .write(move |ctx| sql::disconnected(ctx, &instance, user))
                        .await;
                });
            }
        }
    }
}
