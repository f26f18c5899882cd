//! Property test: applying the same event log in any chunking, with any pages duplicated or
//! replayed, gives the same cache.

use proptest::prelude::*;
use serde_json::json;
use switchboard_protocol::api::{event_kind, Event};
use switchboard_sync::Cache;

/// A plausible event log: conversations, contacts and messages created and updated with full
/// snapshots (contacts with tags), some conversations assigned away from the viewer, notes.
fn log(ops: &[(u8, u8, u8)]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut seq = 0;
    let mut push = |kind: &'static str,
                    conv: Option<i64>,
                    data: serde_json::Value,
                    events: &mut Vec<Event>| {
        seq += 1;
        events.push(Event {
            seq,
            kind: kind.to_string(),
            conversation_id: conv,
            data,
            at: seq * 10,
        });
    };
    let mut msg_id = 0;
    for (i, &(op, a, b)) in ops.iter().enumerate() {
        let conv = (a % 5) as i64 + 1;
        let contact = json!({"id": conv, "wa_id": format!("49151{conv}"), "bsuid": null, "username": null, "name": format!("Kunde {conv} v{i}"), "updated_at": i, "tags": [format!("t{}", b % 3)]});
        match op % 5 {
            0 | 1 => {
                msg_id += 1;
                let status = ["queued", "sent", "delivered", "read"][(b % 4) as usize];
                push(
                    event_kind::MESSAGE_CREATED,
                    Some(conv),
                    json!({
                    "id": msg_id, "conversation_id": conv, "direction": "outbound", "wamid": format!("wamid.{msg_id}"), "type": "text",
                    "text": format!("Nachricht {msg_id} über Lieferung"), "content": {"type": "text", "body": "x"}, "unsupported": false,
                    "status": status, "error": null, "reply_to": null, "reply_to_wamid": null, "sender_id": 1, "client_id": null,
                    "raw": null, "created_at": i, "updated_at": i}),
                    &mut events,
                );
            }
            2 => {
                let assignee = match b % 3 {
                    0 => json!(null),
                    1 => json!(7),
                    _ => json!(8),
                };
                push(
                    event_kind::CONVERSATION_UPDATED,
                    Some(conv),
                    json!({
                    "id": conv, "phone_number_id": "200000000000002", "contact": contact, "status": if b % 2 == 0 {"open"} else {"resolved"},
                    "assignee_id": assignee, "last_inbound_at": i, "last_message_at": i, "last_message_preview": format!("p{i}"),
                    "unread_count": b % 4, "created_at": 0, "updated_at": i}),
                    &mut events,
                );
            }
            3 => push(event_kind::CONTACT_UPDATED, None, contact, &mut events),
            _ => {
                if msg_id > 0 {
                    let id = (b as i64 % msg_id) + 1;
                    push(
                        event_kind::MESSAGE_UPDATED,
                        Some(conv),
                        json!({
                        "id": id, "conversation_id": conv, "direction": "outbound", "wamid": format!("wamid.{id}"), "type": "text",
                        "text": format!("Nachricht {id} über Lieferung"), "content": {"type": "text", "body": "x"}, "unsupported": false,
                        "status": "read", "error": null, "reply_to": null, "reply_to_wamid": null, "sender_id": 1, "client_id": null,
                        "raw": null, "created_at": 0, "updated_at": i}),
                        &mut events,
                    );
                } else if b % 2 == 0 {
                    push("something.new", None, json!({"id": 1}), &mut events);
                } else {
                    push(
                        event_kind::NOTE_CREATED,
                        None,
                        json!({"id": i, "contact_id": conv, "author_id": 7, "author_name": "A", "text": format!("Notiz {i}"), "created_at": i}),
                        &mut events,
                    );
                }
            }
        }
    }
    events
}

fn viewer_cache() -> Cache {
    let cache = Cache::in_memory().unwrap();
    cache
        .set_user(&switchboard_protocol::api::User {
            id: 7,
            email: "a@x".into(),
            name: "A".into(),
            role: "agent".into(),
            permissions: Vec::new(),
        })
        .unwrap();
    cache
}

fn apply_all_at_once(events: &[Event]) -> Vec<String> {
    let cache = viewer_cache();
    cache
        .apply_page(events, events.last().map(|e| e.seq).unwrap_or(0))
        .unwrap();
    cache.dump().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn any_chunking_and_duplicates_converge(
        ops in prop::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 1..120),
        cuts in prop::collection::vec(1usize..20, 1..40),
        replays in prop::collection::vec((any::<u8>(), any::<bool>()), 0..10),
    ) {
        let events = log(&ops);
        let expected = apply_all_at_once(&events);
        // Chunk the log as the cuts say; replay some already-applied pages in between.
        let mut pages = Vec::new();
        let mut start = 0;
        let mut k = 0;
        while start < events.len() {
            let len = cuts[k % cuts.len()];
            let end = (start + len).min(events.len());
            pages.push((start, end));
            start = end;
            k += 1;
        }
        let cache = viewer_cache();
        let mut applied: Vec<(usize, usize)> = Vec::new();
        for (i, &(s, e)) in pages.iter().enumerate() {
            cache.apply_page(&events[s..e], events[e - 1].seq).unwrap();
            applied.push((s, e));
            for &(r, twice) in &replays {
                if r as usize % (pages.len().max(1)) == i {
                    let (rs, re) = applied[r as usize % applied.len()];
                    cache.apply_page(&events[rs..re], events[re - 1].seq).unwrap();
                    if twice {
                        cache.apply_page(&events[rs..re], events[re - 1].seq).unwrap();
                    }
                }
            }
        }
        prop_assert_eq!(cache.dump().unwrap(), expected);
    }
}

#[test]
fn conversations_assigned_away_leave_an_agents_cache() {
    let events = log(&[(2, 0, 0), (0, 0, 1), (2, 0, 2)]);
    let cache = viewer_cache();
    cache.apply_page(&events[..2], 2).unwrap();
    assert_eq!(cache.counts().unwrap().conversations, 1);
    assert_eq!(cache.counts().unwrap().messages, 1);
    cache.apply_page(&events[2..], 3).unwrap();
    assert_eq!(
        cache.counts().unwrap().conversations,
        0,
        "assigned to agent 8: gone from agent 7's cache"
    );
    assert_eq!(cache.counts().unwrap().messages, 0);
    assert_eq!(cache.cursor().unwrap(), 3);
}

#[test]
fn search_finds_messages_and_contacts_with_highlights() {
    let events = log(&[(2, 0, 0), (0, 0, 1), (2, 1, 0), (0, 1, 3)]);
    let cache = viewer_cache();
    cache.apply_page(&events, 4).unwrap();
    let hits = cache.search("lieferu", 10).unwrap();
    assert_eq!(hits.len(), 2, "prefix match, accent-insensitive: {hits:?}");
    assert!(
        hits[0].snippet.contains("\u{2}Lieferung\u{3}"),
        "{:?}",
        hits[0].snippet
    );
    let hits = cache.search("uber", 10).unwrap();
    assert_eq!(hits.len(), 2, "'über' found as 'uber'");
    let by_number = cache.search("491512", 10).unwrap();
    assert_eq!(by_number.len(), 1);
    assert_eq!(by_number[0].message_id, None);
    assert_eq!(by_number[0].conversation_id, 2);
    assert!(cache
        .search("\"; DROP TABLE messages; --", 10)
        .unwrap()
        .is_empty());
    assert_eq!(cache.counts().unwrap().messages, 2);
}
