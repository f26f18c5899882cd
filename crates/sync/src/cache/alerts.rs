//! Escalation alerts kept in the cache: a customer waiting too long for the assigned agent
//! (`conversation.waiting`), or past the overdue threshold for supervisors
//! (`conversation.overdue`). They come through the event log like everything else, so one
//! raised while the app was closed arrives with the next catch-up and is still shown.
//!
//! An alert *applies* while its conversation is held here, open, and has no reply from a person
//! of the business since the customer started waiting (an auto-reply does not end the wait, as on
//! the relay); answered or resolved ones stay in the list as
//! history but count for no badge and raise no notification.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::Cache;
use crate::error::Result;

/// One alert, as the desktop lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The event's sequence number (also orders the list).
    pub seq: i64,
    /// `waiting` or `overdue`.
    pub kind: String,
    pub conversation_id: i64,
    /// When the customer started waiting (ms).
    pub waiting_since: i64,
    /// When the relay raised it (ms).
    pub at: i64,
    /// The customer is still waiting on this conversation.
    pub applies: bool,
    pub seen: bool,
}

/// Whether the alert of `a` (table `alerts`) still applies: SQL over the cache's conversations
/// and messages.
const APPLIES: &str =
    "EXISTS (SELECT 1 FROM conversations c WHERE c.id = a.conversation_id AND c.status = 'open')
     AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = a.conversation_id
         AND json_extract(m.data, '$.direction') = 'outbound'
         AND json_extract(m.data, '$.sender_id') IS NOT NULL
         AND json_extract(m.data, '$.created_at') > a.waiting_since)";

fn kind_name(kind: &str) -> String {
    kind.strip_prefix("conversation.")
        .unwrap_or(kind)
        .to_string()
}

/// The columns every alert query selects, in this order, before the one that says whether it
/// applies.
const COLUMNS: &str = "a.seq, a.kind, a.conversation_id, a.waiting_since, a.at, a.seen";

fn alert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Alert> {
    Ok(Alert {
        seq: r.get(0)?,
        kind: kind_name(&r.get::<_, String>(1)?),
        conversation_id: r.get(2)?,
        waiting_since: r.get(3)?,
        at: r.get(4)?,
        seen: r.get::<_, i64>(5)? != 0,
        applies: r.get::<_, i64>(6)? != 0,
    })
}

impl Cache {
    /// The newest alerts of conversations held here, newest first.
    pub fn alerts(&self, limit: usize) -> Result<Vec<Alert>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS}, {APPLIES}
             FROM alerts a WHERE EXISTS (SELECT 1 FROM conversations c WHERE c.id = a.conversation_id)
             ORDER BY a.seq DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit as i64], alert_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Alerts that apply and were not seen yet: the badge.
    pub fn unseen_alerts(&self) -> Result<i64> {
        let conn = self.lock();
        let n: i64 = conn
            .prepare_cached(&format!(
                "SELECT COUNT(*) FROM alerts a WHERE a.seen = 0 AND {APPLIES}"
            ))?
            .query_row([], |r| r.get(0))?;
        Ok(n)
    }

    /// Marks every alert up to `seq` as seen (the person looked at the list).
    pub fn mark_alerts_seen(&self, up_to: i64) -> Result<usize> {
        Ok(self.lock().execute(
            "UPDATE alerts SET seen = 1 WHERE seq <= ?1 AND seen = 0",
            params![up_to],
        )?)
    }

    /// Alerts that apply and were never notified, oldest first, now marked as notified; alerts
    /// that no longer apply are marked too (they never will). Each alert notifies at most once,
    /// also across restarts.
    pub fn take_alerts_to_notify(&self) -> Result<Vec<Alert>> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let out: Vec<Alert> = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {COLUMNS}, 1 FROM alerts a WHERE a.notified = 0 AND {APPLIES} ORDER BY a.seq"
            ))?;
            let rows = stmt.query_map([], alert_row)?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        tx.execute("UPDATE alerts SET notified = 1 WHERE notified = 0", [])?;
        tx.commit()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use switchboard_protocol::api::{event_kind, Event};

    use crate::Cache;

    fn ev(seq: i64, kind: &str, data: serde_json::Value) -> Event {
        Event {
            seq,
            kind: kind.into(),
            conversation_id: Some(1),
            data,
            at: seq * 1000,
        }
    }

    fn message(id: i64, sender: Option<i64>, at: i64) -> serde_json::Value {
        json!({"id": id, "conversation_id": 1, "direction": "outbound", "wamid": null, "type": "text",
               "text": "x", "content": {"type": "text", "body": "x"}, "unsupported": false, "status": "sent",
               "error": null, "reply_to": null, "reply_to_wamid": null, "sender_id": sender, "client_id": null,
               "raw": null, "created_at": at, "updated_at": at})
    }

    #[test]
    fn an_auto_reply_does_not_end_the_wait_a_persons_reply_does() {
        let cache = Cache::in_memory().unwrap();
        let conv = json!({"id": 1, "phone_number_id": "200000000000002",
            "contact": {"id": 1, "wa_id": "4915100000001", "bsuid": null, "username": null, "name": "K", "updated_at": 0, "tags": []},
            "status": "open", "assignee_id": null, "last_inbound_at": 100, "last_message_at": 100,
            "last_message_preview": "?", "unread_count": 1, "created_at": 0, "updated_at": 100});
        let alert = json!({"conversation_id": 1, "assignee_id": null, "waiting_since": 100});
        cache
            .apply_page(
                &[
                    ev(1, event_kind::CONVERSATION_UPDATED, conv),
                    ev(2, event_kind::MESSAGE_CREATED, message(1, None, 150)),
                    ev(3, event_kind::CONVERSATION_OVERDUE, alert.clone()),
                    // The same alert again (a replayed page) is kept once.
                    ev(3, event_kind::CONVERSATION_OVERDUE, alert),
                ],
                3,
            )
            .unwrap();
        let a = cache.alerts(10).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].kind.as_str(), a[0].applies), ("overdue", true));
        assert_eq!(cache.unseen_alerts().unwrap(), 1);
        cache
            .apply_page(
                &[ev(4, event_kind::MESSAGE_CREATED, message(2, Some(7), 200))],
                4,
            )
            .unwrap();
        assert!(!cache.alerts(10).unwrap()[0].applies);
        assert_eq!(cache.unseen_alerts().unwrap(), 0);
        assert!(
            cache.take_alerts_to_notify().unwrap().is_empty(),
            "answered: nothing to notify"
        );
    }
}
