//! Search benchmark: full-text search over 1,000,000 cached messages in the sync engine's cache
//! (SQLite FTS5), queries as people type them (whole words and prefixes, one to three words).
//!
//! Baseline in the same run: the naive FTS5 query that ranks every match by bm25 (what the
//! engine's search avoids by ranking only the most recent matches), on a sample of queries.
//!
//! `cargo run --release -p switchboard-bench --bin bench-search -- --messages 1000000 --queries 2000`

use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use switchboard_bench::{arg, peak_rss_mib, percentile_ms};
use switchboard_protocol::api::{event_kind, Event};
use switchboard_sync::Cache;

const WORDS: &[&str] = &[
    "Bestellung",
    "Paket",
    "Lieferung",
    "Rechnung",
    "Rückgabe",
    "Umtausch",
    "Größe",
    "Farbe",
    "morgen",
    "heute",
    "Preis",
    "kostet",
    "Öffnungszeiten",
    "Filiale",
    "Termin",
    "danke",
    "bitte",
    "hallo",
    "order",
    "delivery",
    "invoice",
    "refund",
    "size",
    "tomorrow",
    "price",
    "store",
    "appointment",
    "thanks",
    "please",
    "Gutschein",
    "Rabatt",
    "Versand",
    "Adresse",
    "Telefon",
    "Konto",
    "Passwort",
    "kaputt",
    "beschädigt",
    "Garantie",
    "Reparatur",
    "Abholung",
    "Zahlung",
    "Überweisung",
    "PayPal",
    "Kreditkarte",
    "Storno",
    "Frage",
    "Problem",
    "schnell",
    "wann",
    "wo",
    "warum",
    "Nummer",
    "Kundennummer",
    "Sendungsverfolgung",
    "DHL",
    "Hermes",
    "Express",
];

fn main() -> anyhow::Result<()> {
    let messages: usize = arg("--messages", 1_000_000);
    let queries: usize = arg("--queries", 2000);
    let conversations = (messages / 20).max(1);
    let dir = tempfile::tempdir()?;
    let cache = Cache::open(&dir.path().join("search.db"))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let t = Instant::now();
    let mut seq = 0i64;
    let mut batch = Vec::with_capacity(10_000);
    for c in 0..conversations as i64 {
        seq += 1;
        batch.push(Event { seq, kind: event_kind::CONVERSATION_UPDATED.into(), conversation_id: Some(c + 1), at: 0, data: json!({
            "id": c + 1, "phone_number_id": "200000000000002", "status": "open", "assignee_id": null, "last_inbound_at": c,
            "last_message_at": c, "last_message_preview": "", "unread_count": 0, "created_at": 0, "updated_at": 0,
            "contact": {"id": c + 1, "wa_id": format!("4917{:08}", c), "bsuid": null, "username": null, "name": format!("Kunde {c}"), "updated_at": 0}})});
    }
    cache.apply_page(&batch, seq)?;
    batch.clear();
    for i in 0..messages as i64 {
        let n = rng.gen_range(4..14);
        let text: Vec<&str> = (0..n).map(|_| *WORDS.choose(&mut rng).unwrap()).collect();
        seq += 1;
        let conv = rng.gen_range(1..=conversations as i64);
        batch.push(Event { seq, kind: event_kind::MESSAGE_CREATED.into(), conversation_id: Some(conv), at: 0, data: json!({
            "id": i + 1, "conversation_id": conv, "direction": "inbound", "wamid": format!("wamid.s{i}"), "type": "text",
            "text": format!("{} {}", text.join(" "), i), "content": {"type": "text"}, "unsupported": false, "status": null, "error": null,
            "reply_to": null, "reply_to_wamid": null, "sender_id": null, "client_id": null, "raw": null, "created_at": i, "updated_at": i})});
        if batch.len() == 10_000 {
            cache.apply_page(&batch, seq)?;
            batch.clear();
        }
    }
    cache.apply_page(&batch, seq)?;
    println!(
        "cache filled with {} messages in {:.1} s",
        cache.counts()?.messages,
        t.elapsed().as_secs_f64()
    );

    let mut lat = Vec::with_capacity(queries);
    let mut total_hits = 0;
    let mut query_texts = Vec::new();
    for _ in 0..queries {
        let words = rng.gen_range(1..=3);
        let mut q: Vec<String> = (0..words)
            .map(|_| WORDS.choose(&mut rng).unwrap().to_string())
            .collect();
        // As typed: the last word is often incomplete.
        let last = q.last_mut().unwrap();
        let keep = rng.gen_range(3..=last.chars().count().max(3));
        *last = last.chars().take(keep).collect();
        query_texts.push(q.join(" "));
    }
    for q in &query_texts {
        let t = Instant::now();
        total_hits += cache.search(q, 50)?.len();
        lat.push(t.elapsed());
    }
    lat.sort();
    // Baseline: the naive FTS query that ranks every match by bm25, on a sample of queries.
    let mut base: Vec<Duration> = Vec::new();
    {
        let conn = rusqlite::Connection::open(dir.path().join("search.db"))?;
        for q in query_texts.iter().take(30) {
            let fts = switchboard_sync::cache::query::fts_query(q).unwrap();
            let t = Instant::now();
            let mut stmt = conn.prepare_cached(
                "SELECT rowid, snippet(message_fts, 0, char(2), char(3), '…', 12) FROM message_fts WHERE message_fts MATCH ?1 ORDER BY bm25(message_fts) LIMIT 50",
            )?;
            let _n = stmt.query_map([fts], |r| r.get::<_, i64>(0))?.count();
            base.push(t.elapsed());
        }
    }
    base.sort();
    let (p50, p95, p99) = (
        percentile_ms(&lat, 50.0),
        percentile_ms(&lat, 95.0),
        percentile_ms(&lat, 99.0),
    );
    println!("search over {messages} messages: p50 {p50:.2} ms, p95 {p95:.2} ms, p99 {p99:.2} ms ({queries} queries, {total_hits} hits); naive full-ranking FTS baseline p50 {:.1} ms, p95 {:.1} ms", percentile_ms(&base, 50.0), percentile_ms(&base, 95.0));
    println!(
        "{}",
        json!({
            "bench": "search", "messages": messages, "queries": queries,
            "p50_ms": (p50 * 100.0).round() / 100.0, "p95_ms": (p95 * 100.0).round() / 100.0, "p99_ms": (p99 * 100.0).round() / 100.0,
            "baseline_full_ranking_p50_ms": (percentile_ms(&base, 50.0) * 10.0).round() / 10.0,
            "baseline_full_ranking_p95_ms": (percentile_ms(&base, 95.0) * 10.0).round() / 10.0,
            "peak_rss_mib": peak_rss_mib().round(), "target": "p95 < 30 ms",
        })
    );
    Ok(())
}
