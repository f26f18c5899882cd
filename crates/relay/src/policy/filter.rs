//! The outgoing sensitive-word filter.
//!
//! Entries are normalised ([`super::normalize`]) and squeezed to letters and digits, then compiled
//! once, when the list changes, into one Aho-Corasick automaton. A message is normalised the same
//! way and scanned once; a hit counts when it starts and ends on a word boundary of the message,
//! which makes the filter resist case, compatibility forms, accents, zero-width characters and
//! separators between letters (`K.O.S.T.E.N.L.O.S`, `kosten los`) without firing inside longer
//! words (`gewinnen` is not in `Gewinnentwicklung`).

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::normalize::{squeezed, Normalized};

/// A compiled list. Cheap to share (`Arc`), immutable.
#[derive(Debug, Default)]
pub struct SensitiveFilter {
    /// The entries as the admin wrote them (for the error message), by pattern id.
    entries: Vec<String>,
    automaton: Option<AhoCorasick>,
}

/// The first entry found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The entry as the admin wrote it.
    pub entry: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error("entry {0:?} has no letters or digits")]
    Empty(String),
    #[error("the list could not be compiled: {0}")]
    Build(String),
}

impl SensitiveFilter {
    /// Compiles `entries` (duplicates after normalisation are kept once).
    pub fn compile(entries: &[String]) -> Result<SensitiveFilter, FilterError> {
        let mut seen = std::collections::HashSet::new();
        let mut patterns = Vec::with_capacity(entries.len());
        let mut kept = Vec::with_capacity(entries.len());
        for e in entries {
            let p = squeezed(e);
            if p.is_empty() {
                return Err(FilterError::Empty(e.clone()));
            }
            if seen.insert(p.clone()) {
                patterns.push(p);
                kept.push(e.trim().to_string());
            }
        }
        if patterns.is_empty() {
            return Ok(SensitiveFilter::default());
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .or_else(|_| {
                // A DFA over very many entries may exceed the size limit: fall back to the NFA.
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
            })
            .map_err(|e| FilterError::Build(e.to_string()))?;
        Ok(SensitiveFilter {
            entries: kept,
            automaton: Some(automaton),
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first entry (by position in the text) that `text` contains, if any.
    pub fn check(&self, text: &str) -> Option<Hit> {
        let ac = self.automaton.as_ref()?;
        let n = Normalized::new(text);
        self.check_normalized(ac, &n)
    }

    /// Like [`check`](Self::check) with a caller-owned buffer (benchmarks, batch checks).
    pub fn check_with(&self, text: &str, buf: &mut Normalized) -> Option<Hit> {
        let ac = self.automaton.as_ref()?;
        buf.fill(text);
        self.check_normalized(ac, buf)
    }

    fn check_normalized(&self, ac: &AhoCorasick, n: &Normalized) -> Option<Hit> {
        // Overlapping search: a hit that fails the boundary test must not hide one that passes.
        ac.find_overlapping_iter(n.squeezed.as_str())
            .find(|m| n.on_boundaries(m.start(), m.end()))
            .map(|m| Hit {
                entry: self.entries[m.pattern().as_usize()].clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(entries: &[&str]) -> SensitiveFilter {
        SensitiveFilter::compile(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap()
    }

    #[test]
    fn normalisation_and_evasion_case_table() {
        let f = filter(&["kostenlos", "gewinnen", "jetzt kaufen", "Bitcoin", "crédit"]);
        let cases: &[(&str, Option<&str>)] = &[
            ("Das ist kostenlos.", Some("kostenlos")),
            ("KOSTENLOS!!!", Some("kostenlos")),
            ("KoStEnLoS", Some("kostenlos")),
            ("k.o.s.t.e.n.l.o.s", Some("kostenlos")),
            ("k o s t e n l o s", Some("kostenlos")),
            ("k-o-s-t-e-n-l-o-s", Some("kostenlos")),
            ("k_o_s_t_e_n_l_o_s und so", Some("kostenlos")),
            ("kosten\u{200B}los", Some("kostenlos")), // zero-width space
            ("kos\u{00AD}ten\u{2060}los", Some("kostenlos")), // soft hyphen, word joiner
            ("ｋｏｓｔｅｎｌｏｓ", Some("kostenlos")), // full-width
            ("kóstenlös", Some("kostenlos")),         // accents
            ("ko\u{0301}stenlos", Some("kostenlos")), // combining accent
            ("Jetzt   kaufen!", Some("jetzt kaufen")),
            ("jetzt-kaufen", Some("jetzt kaufen")),
            ("BITCOIN", Some("Bitcoin")),
            ("credit", Some("crédit")), // entry accent folded too
            ("Sie gewinnen!", Some("gewinnen")),
            // Not inside longer words.
            ("Die Gewinnentwicklung war gut", None),
            ("Die Kostenlosigkeit", None),
            ("Kosten: 10 EUR, los geht's", None),
            ("Ein ganz normaler Satz.", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                f.check(text).map(|h| h.entry),
                want.map(str::to_string),
                "{text:?}"
            );
        }
    }

    #[test]
    fn empty_list_and_bad_entries() {
        assert!(filter(&[]).check("kostenlos").is_none());
        assert_eq!(
            SensitiveFilter::compile(&["...".to_string()]).unwrap_err(),
            FilterError::Empty("...".into())
        );
        assert_eq!(filter(&["Kostenlos", "kostenlos", "KOSTENLOS"]).len(), 1);
    }

    #[test]
    fn overlapping_candidates_do_not_hide_a_real_hit() {
        // "gewinnen" fails the boundary test in "gewinnenx", "innen" must still be found later.
        let f = filter(&["gewinnen", "innen"]);
        assert_eq!(
            f.check("gewinnenx und innen").map(|h| h.entry).as_deref(),
            Some("innen")
        );
    }
}
