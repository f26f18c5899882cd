//! Text normalisation shared by the sensitive-word filter and keyword auto-replies.
//!
//! Both compare *normalised* text: Unicode compatibility forms folded (NFKD per character, so
//! `ｆｒｅｅ` and `ﬁ` match `free` and `fi`), accents and other combining marks dropped (`Preís` →
//! `preis`), lower case (with `ß` → `ss`), and invisible format characters (zero-width space and
//! joiners, soft hyphen, BOM, bidi marks) removed outright so they cannot split a word. Every other
//! non-alphanumeric character is a *separator*.
//!
//! Two forms come out of one pass:
//! - [`Normalized::squeezed`]: only the letters and digits, with a table saying where a word
//!   boundary (separator, start or end) lies. The filter matches entries here, so `k.o.s.t.e.n.l.o.s`
//!   and `kosten los` read as `kostenlos`, and a match counts only if it starts and ends on a
//!   boundary (`gewinnen` does not fire inside `Gewinnentwicklung`).
//! - [`Normalized::spaced`]: words separated by single spaces, for keyword rules that must respect
//!   word boundaries the way people write them.
//!
//! Per character, no allocation beyond the outputs: this runs on every outbound message.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Characters that render as nothing and are removed (not treated as separators).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' // soft hyphen
            | '\u{034F}' // combining grapheme joiner
            | '\u{061C}' // arabic letter mark
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' // mongolian variation selectors and vowel separator
            | '\u{200B}'..='\u{200F}' // zero-width space, ZWNJ, ZWJ, LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings
            | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, bidi isolates
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}' // variation selectors
            | '\u{FEFF}' // BOM / zero-width no-break space
            | '\u{FFA0}'
            | '\u{E0000}'..='\u{E007F}' // tags
    )
}

/// Pushes the normalised lower-case form of `c` to `out` (called with every character NFKD
/// produces that is not a combining mark).
fn lower_into(c: char, out: &mut impl FnMut(char)) {
    if c.is_ascii() {
        out(c.to_ascii_lowercase());
    } else if c == 'ß' || c == 'ẞ' {
        out('s');
        out('s');
    } else {
        for l in c.to_lowercase() {
            out(l);
        }
    }
}

/// Calls `f(Some(ch))` for each normalised alphanumeric character and `f(None)` for each
/// separator, in order.
pub fn for_each_normalized(text: &str, mut f: impl FnMut(Option<char>)) {
    for c in text.chars() {
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                f(Some(c.to_ascii_lowercase()));
            } else {
                f(None);
            }
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        decompose_compatible(c, |d| {
            if is_combining_mark(d) || is_invisible(d) {
                return;
            }
            let mut emit = |l: char| {
                if l.is_alphanumeric() {
                    f(Some(l))
                } else {
                    f(None)
                }
            };
            lower_into(d, &mut emit);
        });
    }
}

/// The normalised forms of one text.
#[derive(Debug, Default, Clone)]
pub struct Normalized {
    /// Letters and digits only, lower case, UTF-8.
    pub squeezed: String,
    /// `boundary[i]` (for `i` in `0..=squeezed.len()`, byte offsets): whether a word boundary lies
    /// at byte `i` of `squeezed` (start, end, or a separator between `i-1` and `i`).
    pub boundary: Vec<bool>,
}

impl Normalized {
    pub fn new(text: &str) -> Normalized {
        let mut n = Normalized {
            squeezed: String::with_capacity(text.len()),
            boundary: Vec::with_capacity(text.len() + 1),
        };
        n.fill(text);
        n
    }

    /// Re-fills this value from `text`, reusing its buffers.
    pub fn fill(&mut self, text: &str) {
        self.squeezed.clear();
        self.boundary.clear();
        let mut pending_boundary = true;
        let (sq, bd) = (&mut self.squeezed, &mut self.boundary);
        for_each_normalized(text, |c| match c {
            Some(ch) => {
                let len = ch.len_utf8();
                bd.push(pending_boundary);
                for _ in 1..len {
                    bd.push(false);
                }
                sq.push(ch);
                pending_boundary = false;
            }
            None => pending_boundary = true,
        });
        bd.push(true);
    }

    /// Whether `[start, end)` of `squeezed` begins and ends on word boundaries.
    pub fn on_boundaries(&self, start: usize, end: usize) -> bool {
        self.boundary[start] && self.boundary[end]
    }
}

/// Words separated by single spaces, lower case, accents removed: `"Preís?!  Danke"` →
/// `"preis danke"`.
pub fn spaced(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for_each_normalized(text, |c| match c {
        Some(ch) => {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(ch);
        }
        None => space = true,
    });
    out
}

/// The squeezed form of an entry or keyword (letters and digits only).
pub fn squeezed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for_each_normalized(text, |c| {
        if let Some(ch) = c {
            out.push(ch)
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_table() {
        let cases: &[(&str, &str, &str)] = &[
            // input, spaced, squeezed
            ("Preís?", "preis", "preis"),
            ("PREIS", "preis", "preis"),
            ("Straße", "strasse", "strasse"),
            ("ＦＲＥＥ ｇｉｆｔ", "free gift", "freegift"),
            ("ﬁnanzierung", "finanzierung", "finanzierung"),
            ("kos\u{200B}ten\u{00AD}los", "kostenlos", "kostenlos"),
            ("k.o.s.t.e.n.l.o.s", "k o s t e n l o s", "kostenlos"),
            ("  Was   kostet\tdas?? ", "was kostet das", "waskostetdas"),
            ("Crème brûlée", "creme brulee", "cremebrulee"),
            ("e\u{0301}", "e", "e"), // decomposed accent
            ("①②", "12", "12"),
            ("Öffnungszeiten?", "offnungszeiten", "offnungszeiten"),
            ("", "", ""),
        ];
        for (input, sp, sq) in cases {
            assert_eq!(spaced(input), *sp, "spaced({input:?})");
            assert_eq!(squeezed(input), *sq, "squeezed({input:?})");
        }
    }

    #[test]
    fn boundaries() {
        let n = Normalized::new("Ab-cd ef\u{200B}gh");
        assert_eq!(n.squeezed, "abcdefgh");
        let b: Vec<usize> = (0..n.boundary.len()).filter(|&i| n.boundary[i]).collect();
        assert_eq!(b, vec![0, 2, 4, 8]);
        assert!(n.on_boundaries(2, 4));
        assert!(!n.on_boundaries(4, 6));
    }
}
