//! Reading query and path values exactly as the OpenAPI document describes them, so that what
//! the document calls valid is accepted and nothing else is (a `+5` is not an id, a date with a
//! space instead of `T` is not RFC 3339).

/// An integer written as the document's patterns allow: an optional `-` and 1 to 18 digits.
pub fn strict_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// An RFC 3339 date-time (JSON Schema's `date-time`) as Unix milliseconds.
pub fn rfc3339_ms(s: &str) -> Option<i64> {
    // chrono also reads a space between date and time; RFC 3339 (and the document) do not.
    if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_read_as_the_document_writes_them() {
        assert_eq!(strict_int("42"), Some(42));
        assert_eq!(strict_int("-7"), Some(-7));
        for bad in [
            "",
            "-",
            "+5",
            " 5",
            "5 ",
            "1e3",
            "0x10",
            "1234567890123456789",
        ] {
            assert_eq!(strict_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_rfc_3339_date_times_are_read() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(rfc3339_ms("1970-01-01t00:00:01+00:00"), Some(1000));
        for bad in ["1970-01-01 00:00:01Z", "1970-01-01", "", "yesterday"] {
            assert_eq!(rfc3339_ms(bad), None, "{bad:?}");
        }
    }
}
