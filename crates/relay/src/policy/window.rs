//! The 24-hour customer-service window (pure).
//!
//! Free-form messages may go out only while the window is open: from the customer's last inbound
//! message until exactly 24 hours later (exclusive). Templates may go out at any time.

pub const WINDOW_MS: i64 = 24 * 3600 * 1000;

/// Whether a free-form message may be sent at `now` (ms) given the last inbound message time.
pub fn is_open(last_inbound_at: Option<i64>, now: i64) -> bool {
    match last_inbound_at {
        Some(t) => now < t + WINDOW_MS,
        None => false,
    }
}

/// When the window closes (or closed), if it was ever opened.
pub fn closes_at(last_inbound_at: Option<i64>) -> Option<i64> {
    last_inbound_at.map(|t| t + WINDOW_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_case_table() {
        let t = 1_790_000_000_000;
        let s = 1000;
        let cases: &[(Option<i64>, i64, bool)] = &[
            (Some(t), t, true),
            (Some(t), t + 23 * 3600 * s + 59 * 60 * s + 59 * s, true), // 23:59:59
            (Some(t), t + WINDOW_MS - 1, true),
            (Some(t), t + WINDOW_MS, false), // 24:00:00 exactly: closed
            (Some(t), t + WINDOW_MS + s, false), // 24:00:01
            (Some(t), t + 30 * WINDOW_MS, false),
            (None, t, false), // the customer never wrote
        ];
        for (last, now, open) in cases {
            assert_eq!(is_open(*last, *now), *open, "last {last:?} now {now}");
        }
        assert_eq!(closes_at(Some(t)), Some(t + WINDOW_MS));
    }
}
