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

/// A language code of a per-language list: a lower-case ISO 639 code (`de`, `en`, `fra`).
/// Regions are not told apart (the relay knows a customer's language, not their region).
pub fn valid_language(code: &str) -> bool {
    (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase())
}

/// The whole sensitive-word configuration, compiled: the list for every language and one list
/// per language. An outbound message to a customer is checked against the list for every
/// language and the list of the customer's language. Cheap to share (`Arc`), immutable; rebuilt
/// only when the stored entries change (see [`SensitiveLists::source`]).
#[derive(Debug, Default)]
pub struct SensitiveLists {
    pub all: SensitiveFilter,
    pub by_language: std::collections::HashMap<String, SensitiveFilter>,
    /// The stored `(language, entry)` rows this was compiled from (`""` is every language), in
    /// order: a reload whose rows are equal keeps this compiled form.
    source: Vec<(String, String)>,
}

/// The first entry found, and the language list it is on (`None`: the list for every language).
#[derive(Debug, Clone, PartialEq)]
pub struct ListHit {
    pub entry: String,
    pub language: Option<String>,
}

impl SensitiveLists {
    /// Compiles stored `(language, entry)` rows; `""` is the list for every language.
    pub fn compile(rows: Vec<(String, String)>) -> Result<SensitiveLists, FilterError> {
        let mut grouped: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for (lang, entry) in &rows {
            grouped
                .entry(lang.as_str())
                .or_default()
                .push(entry.clone());
        }
        let mut out = SensitiveLists::default();
        for (lang, entries) in grouped {
            let f = SensitiveFilter::compile(&entries)?;
            if lang.is_empty() {
                out.all = f;
            } else {
                out.by_language.insert(lang.to_string(), f);
            }
        }
        out.source = rows;
        Ok(out)
    }

    /// The rows this was compiled from.
    pub fn source(&self) -> &[(String, String)] {
        &self.source
    }

    /// Checks `text` against the list for every language, then the list of `language` (if any).
    pub fn check(&self, text: &str, language: Option<&str>) -> Option<ListHit> {
        if let Some(h) = self.all.check(text) {
            return Some(ListHit {
                entry: h.entry,
                language: None,
            });
        }
        let lang = language?;
        let f = self.by_language.get(lang)?;
        f.check(text).map(|h| ListHit {
            entry: h.entry,
            language: Some(lang.to_string()),
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

    #[test]
    fn per_language_lists_add_to_the_list_for_every_language() {
        let row = |l: &str, e: &str| (l.to_string(), e.to_string());
        let lists = SensitiveLists::compile(vec![
            row("", "kostenlos"),
            row("de", "Gift"),
            row("en", "free money"),
        ])
        .unwrap();
        let entry = |t: &str, l: Option<&str>| lists.check(t, l).map(|h| (h.entry, h.language));
        assert_eq!(
            entry("ein G.i.f.t", Some("de")),
            Some(("Gift".into(), Some("de".into())))
        );
        assert_eq!(entry("a gift card", Some("en")), None);
        assert_eq!(entry("a gift card", None), None);
        assert_eq!(
            entry("FREE money!", Some("en")),
            Some(("free money".into(), Some("en".into())))
        );
        assert_eq!(entry("free money", Some("de")), None);
        for l in [None, Some("de"), Some("en"), Some("fr")] {
            assert_eq!(entry("kostenlos", l), Some(("kostenlos".into(), None)));
        }
        assert!(SensitiveLists::compile(vec![row("de", "...")]).is_err());
        assert!(valid_language("de") && valid_language("fra"));
        for bad in ["", "d", "DE", "de-DE", "de_DE", "deutsch", "d1"] {
            assert!(!valid_language(bad), "{bad}");
        }
    }
}
