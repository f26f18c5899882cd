//! Sensitive-word filter benchmark: one 4 KB message checked against 10,000 entries.
//!
//! Reports the per-check latency p50/p99/max of the relay's filter (normalisation, separator
//! squeezing, one Aho-Corasick pass with boundary checks) over many checks of messages that do
//! not match (the common case: the whole text must be scanned) and one that matches at the end.
//! Baseline, in the same run: the naive approach (lower-case the text, `contains` per entry),
//! which also misses every evasion the real filter catches.
//!
//! `cargo run --release -p switchboard-bench --bin bench-filter -- --entries 10000 --checks 20000`

use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_bench::{arg, percentile_ms};
use switchboard_relay::policy::filter::SensitiveFilter;
use switchboard_relay::policy::normalize::Normalized;

/// Deterministic pseudo-words (xorshift), German-looking, 5-14 letters, some with umlauts.
fn words(n: usize, seed: u64) -> Vec<String> {
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let syll = [
        "ge", "win", "nen", "kos", "ten", "los", "bon", "us", "pr", "ämi", "rab", "att", "sch",
        "nell", "ver", "dien", "st", "gar", "an", "tie", "frei", "spiel", "zins", "kre", "dit",
        "öko", "über", "weis", "ung", "sof", "ort",
    ];
    (0..n)
        .map(|_| {
            let parts = 2 + (next() % 4) as usize;
            let mut w: String = (0..parts)
                .map(|_| syll[(next() % syll.len() as u64) as usize])
                .collect();
            w.push_str(&format!("{}", next() % 97));
            w
        })
        .collect()
}

fn message(bytes: usize) -> String {
    let base = "Guten Tag Frau Müller, vielen Dank für Ihre Nachricht zur Bestellung 4711. \
                Die Lieferung verzögert sich leider um zwei Tage, weil ein Artikel nachbestellt \
                werden musste. Wir melden uns, sobald das Paket unterwegs ist. Grüße aus Köln! ";
    let mut s = String::new();
    while s.len() < bytes {
        s.push_str(base);
    }
    while s.len() > bytes {
        s.pop();
    }
    s
}

fn main() {
    let n: usize = arg("--entries", 10_000);
    let checks: usize = arg("--checks", 20_000);
    let size: usize = arg("--bytes", 4096);
    let entries = words(n, 0x9E37_79B9_7F4A_7C15);
    let t = Instant::now();
    let filter = SensitiveFilter::compile(&entries).expect("compiles");
    let compile_ms = t.elapsed().as_secs_f64() * 1000.0;
    let clean = message(size);
    // The last entry, evaded with dots, at the very end.
    let evaded: String = entries[n - 1]
        .chars()
        .map(|c| format!("{c}."))
        .collect::<String>();
    let mut dirty = message(size - evaded.len() - 1);
    dirty.push(' ');
    dirty.push_str(&evaded);
    assert!(filter.check(&clean).is_none(), "the clean text must pass");
    assert_eq!(
        filter.check(&dirty).map(|h| h.entry),
        Some(entries[n - 1].clone()),
        "the evaded entry must be found"
    );

    let mut buf = Normalized::default();
    let mut lat = Vec::with_capacity(checks);
    for i in 0..checks {
        let text = if i % 10 == 9 { &dirty } else { &clean };
        let t = Instant::now();
        let hit = filter.check_with(text, &mut buf);
        lat.push(t.elapsed());
        std::hint::black_box(hit);
    }
    lat.sort();

    // Baseline: lower-case + contains per entry (no normalisation, no evasion resistance).
    let lowered: Vec<String> = entries.iter().map(|e| e.to_lowercase()).collect();
    let base_n = (checks / 50).max(20);
    let mut base = Vec::with_capacity(base_n);
    for _ in 0..base_n {
        let t = Instant::now();
        let l = clean.to_lowercase();
        let hit = lowered.iter().find(|e| l.contains(e.as_str()));
        base.push(t.elapsed());
        std::hint::black_box(hit);
    }
    base.sort();
    let us = |d: &[Duration], p: f64| (percentile_ms(d, p) * 1000.0 * 10.0).round() / 10.0;
    println!(
        "filter: {n} entries compiled in {compile_ms:.1} ms; {checks} checks of {size} B: p50 {} µs, p99 {} µs, max {} µs",
        us(&lat, 50.0),
        us(&lat, 99.0),
        us(&lat, 100.0)
    );
    println!(
        "baseline (lower-case + contains per entry, {base_n} checks): p50 {} µs, p99 {} µs",
        us(&base, 50.0),
        us(&base, 99.0)
    );
    println!(
        "{}",
        json!({
            "bench": "filter",
            "entries": n,
            "message_bytes": size,
            "checks": checks,
            "compile_ms": (compile_ms * 10.0).round() / 10.0,
            "p50_us": us(&lat, 50.0),
            "p99_us": us(&lat, 99.0),
            "max_us": us(&lat, 100.0),
            "target_p99_us": 50,
            "baseline_naive_p50_us": us(&base, 50.0),
            "baseline_naive_p99_us": us(&base, 99.0),
            "speedup_p50": ((us(&base, 50.0) / us(&lat, 50.0)) * 10.0).round() / 10.0,
        })
    );
}
