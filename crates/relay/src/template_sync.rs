//! Syncing message templates from the Graph API into the store (at start-up, on an admin's
//! request, and when a send names a template the store does not know yet).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::graph::GraphClient;
use crate::store::{now_ms, policy as sql, Store};

/// At most one lazy sync per account in this time (Meta allows 200-5000 calls/hour per WABA).
const LAZY_INTERVAL_MS: i64 = 30_000;

#[derive(Default)]
pub struct TemplateSync {
    last_lazy: Mutex<HashMap<String, i64>>,
}

impl TemplateSync {
    /// Fetches the account's templates and replaces the stored ones. Returns how many.
    pub async fn sync(
        &self,
        store: &Store,
        graph: &GraphClient,
        waba: &str,
    ) -> Result<usize, String> {
        let list = graph
            .list_templates(waba)
            .await
            .map_err(|e| e.to_string())?;
        let n = list.len();
        let w = waba.to_string();
        store
            .write(move |ctx| sql::replace_templates(ctx.conn, &w, &list, ctx.now))
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(waba_id = waba, templates = n, "templates synced");
        Ok(n)
    }

    /// Syncs every known account; errors are logged.
    pub async fn sync_all(
        &self,
        store: &Store,
        graph: &GraphClient,
    ) -> Vec<(String, Result<usize, String>)> {
        let wabas = store.read(sql::wabas).await.unwrap_or_default();
        let mut out = Vec::new();
        for w in wabas {
            let r = self.sync(store, graph, &w).await;
            if let Err(e) = &r {
                tracing::warn!(waba_id = %w, error = %e, "template sync failed");
            }
            out.push((w, r));
        }
        out
    }

    /// A send names a template the store does not know: sync that number's account, unless that
    /// was done moments ago.
    pub async fn sync_for_number(&self, store: &Store, graph: &GraphClient, pnid: &str) {
        let p = pnid.to_string();
        let Ok(Some(waba)) = store.read(move |c| sql::waba_of(c, &p)).await else {
            return;
        };
        {
            let mut last = self.last_lazy.lock().expect("sync lock");
            let now = now_ms();
            if last.get(&waba).is_some_and(|&t| now - t < LAZY_INTERVAL_MS) {
                return;
            }
            last.insert(waba.clone(), now);
        }
        if let Err(e) = self.sync(store, graph, &waba).await {
            tracing::warn!(waba_id = %waba, error = %e, "template sync failed");
        }
    }
}
