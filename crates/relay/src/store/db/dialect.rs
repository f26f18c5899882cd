//! SQL text differences between the back-ends, decided in one place.

use std::borrow::Cow;

/// Rewrites SQLite placeholders (`?1`, `?`) into PostgreSQL's (`$1`), leaving string literals,
/// quoted identifiers and comments alone.
pub fn translate(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 0usize;
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for (_, d) in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if matches!(chars.peek(), Some((_, '-'))) => {
                out.push(c);
                for (_, d) in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some((_, d)) = chars.peek() {
                    if d.is_ascii_digit() {
                        digits.push(*d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if digits.is_empty() {
                    next += 1;
                    out.push('$');
                    out.push_str(&next.to_string());
                } else {
                    next = next.max(digits.parse().unwrap_or(0));
                    out.push('$');
                    out.push_str(&digits);
                }
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn placeholders_become_numbered() {
        assert_eq!(
            translate("SELECT a FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT a FROM t WHERE a = $1 AND b = $12"
        );
        assert_eq!(translate("VALUES (?, ?, ?)"), "VALUES ($1, $2, $3)");
        assert_eq!(translate("SELECT 1"), "SELECT 1");
    }

    #[test]
    fn literals_and_comments_are_left_alone() {
        assert_eq!(
            translate("SELECT '?1', \"a?\" -- why?\nFROM t WHERE x = ?1"),
            "SELECT '?1', \"a?\" -- why?\nFROM t WHERE x = $1"
        );
        // '' inside a literal (an escaped quote) closes and reopens: still left alone.
        assert_eq!(translate("SELECT 'it''s ?' , ?2"), "SELECT 'it''s ?' , $2");
    }
}
