//! Keyword auto-replies: rule model, compilation and matching (pure; the store applies them).
//!
//! All rules of a number are compiled together when rules change: every keyword of every
//! `any`/`all` rule goes into one Aho-Corasick automaton over the *spaced* normal form (see
//! [`super::normalize::spaced`]), regex rules into one `RegexSet`, `exact` rules into a hash map.
//! Matching a message is then one normalisation, one automaton pass and one regex-set pass,
//! whatever the number of rules.
//!
//! Word boundaries: a keyword matches only as whole words (`preis` matches `Preis?` and `Preís`,
//! not `Preisschild`) unless the rule sets `whole_word: false`. Regex rules run on the spaced
//! normal form (lower case, no accents, single spaces), so they are written in lower case.

use std::collections::{HashMap, HashSet};

use aho_corasick::{AhoCorasick, MatchKind};
use regex::RegexSet;

use super::normalize::spaced;

pub use switchboard_protocol::policy::MatchMode;

/// A rule as stored (the compiled engine refers to rules by index).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: i64,
    pub name: String,
    pub keywords: Vec<String>,
    pub mode: MatchMode,
    pub whole_word: bool,
    /// Higher first.
    pub priority: i64,
    /// The same rule does not answer the same customer again within this time.
    pub cooldown_ms: i64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleError {
    #[error("rule {rule:?}: {reason}")]
    Invalid { rule: String, reason: String },
}

fn invalid(rule: &str, reason: impl Into<String>) -> RuleError {
    RuleError::Invalid {
        rule: rule.to_string(),
        reason: reason.into(),
    }
}

/// Checks one rule on save; the message names the rule.
pub fn validate(rule: &Rule) -> Result<(), RuleError> {
    let label = if rule.name.is_empty() {
        format!("#{}", rule.id)
    } else {
        rule.name.clone()
    };
    if rule.keywords.is_empty() {
        return Err(invalid(&label, "needs at least one keyword"));
    }
    if rule.cooldown_ms < 0 {
        return Err(invalid(&label, "cooldown must not be negative"));
    }
    match rule.mode {
        MatchMode::Regex => {
            if rule.keywords.len() != 1 {
                return Err(invalid(&label, "a regex rule takes exactly one expression"));
            }
            regex::RegexBuilder::new(&rule.keywords[0])
                .size_limit(1 << 20)
                .build()
                .map_err(|e| invalid(&label, format!("invalid regular expression: {e}")))?;
        }
        _ => {
            for k in &rule.keywords {
                if spaced(k).is_empty() {
                    return Err(invalid(
                        &label,
                        format!("keyword {k:?} has no letters or digits"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The rules of one number, compiled.
#[derive(Debug, Default)]
pub struct CompiledRules {
    rules: Vec<Rule>,
    /// Keyword automaton: pattern id -> (rule index, keyword index).
    automaton: Option<AhoCorasick>,
    pattern_owner: Vec<(usize, usize)>,
    exact: HashMap<String, Vec<usize>>,
    regex: Option<RegexSet>,
    regex_owner: Vec<usize>,
}

impl CompiledRules {
    pub fn compile(rules: Vec<Rule>) -> Result<CompiledRules, RuleError> {
        let mut patterns = Vec::new();
        let mut pattern_owner = Vec::new();
        let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
        let mut regexes = Vec::new();
        let mut regex_owner = Vec::new();
        for (ri, r) in rules.iter().enumerate() {
            validate(r)?;
            match r.mode {
                MatchMode::Any | MatchMode::All => {
                    for (ki, k) in r.keywords.iter().enumerate() {
                        patterns.push(spaced(k));
                        pattern_owner.push((ri, ki));
                    }
                }
                MatchMode::Exact => {
                    for k in &r.keywords {
                        exact.entry(spaced(k)).or_default().push(ri);
                    }
                }
                MatchMode::Regex => {
                    regexes.push(r.keywords[0].clone());
                    regex_owner.push(ri);
                }
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(|e| invalid("(all)", e.to_string()))?,
            )
        };
        let regex = if regexes.is_empty() {
            None
        } else {
            Some(
                regex::RegexSetBuilder::new(&regexes)
                    .size_limit(16 << 20)
                    .build()
                    .map_err(|e| invalid("(all)", e.to_string()))?,
            )
        };
        Ok(CompiledRules {
            rules,
            automaton,
            pattern_owner,
            exact,
            regex,
            regex_owner,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Every rule `text` matches, best first (priority, then lower id).
    pub fn matching(&self, text: &str) -> Vec<&Rule> {
        if self.rules.is_empty() {
            return Vec::new();
        }
        let norm = spaced(text);
        let mut hit: HashSet<usize> = HashSet::new();
        if let Some(ac) = &self.automaton {
            let bytes = norm.as_bytes();
            let mut seen: HashMap<usize, HashSet<usize>> = HashMap::new();
            for m in ac.find_overlapping_iter(norm.as_str()) {
                let (ri, ki) = self.pattern_owner[m.pattern().as_usize()];
                let rule = &self.rules[ri];
                let bounded = (m.start() == 0 || bytes[m.start() - 1] == b' ')
                    && (m.end() == bytes.len() || bytes[m.end()] == b' ');
                if rule.whole_word && !bounded {
                    continue;
                }
                seen.entry(ri).or_default().insert(ki);
            }
            for (ri, kws) in seen {
                let rule = &self.rules[ri];
                let ok = match rule.mode {
                    MatchMode::All => kws.len() == rule.keywords.len(),
                    _ => true,
                };
                if ok {
                    hit.insert(ri);
                }
            }
        }
        if let Some(rules) = self.exact.get(&norm) {
            hit.extend(rules.iter().copied());
        }
        if let Some(set) = &self.regex {
            for i in set.matches(&norm).iter() {
                hit.insert(self.regex_owner[i]);
            }
        }
        let mut out: Vec<&Rule> = hit.into_iter().map(|i| &self.rules[i]).collect();
        out.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.id.cmp(&b.id)));
        out
    }

    /// The rule that answers: the best matching rule not in cooldown for this customer.
    /// `last_sent(rule_id)` gives when that rule last answered this customer.
    pub fn choose(
        &self,
        text: &str,
        now: i64,
        mut last_sent: impl FnMut(i64) -> Option<i64>,
    ) -> Option<&Rule> {
        self.matching(text)
            .into_iter()
            .find(|r| match last_sent(r.id) {
                Some(at) => now - at >= r.cooldown_ms,
                None => true,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: i64, kw: &[&str], mode: MatchMode, prio: i64) -> Rule {
        Rule {
            id,
            name: format!("r{id}"),
            keywords: kw.iter().map(|s| s.to_string()).collect(),
            mode,
            whole_word: true,
            priority: prio,
            cooldown_ms: 60_000,
        }
    }

    fn ids(c: &CompiledRules, text: &str) -> Vec<i64> {
        c.matching(text).iter().map(|r| r.id).collect()
    }

    #[test]
    fn matching_case_table() {
        let mut substring = rule(6, &["versand"], MatchMode::Any, 0);
        substring.whole_word = false;
        let c = CompiledRules::compile(vec![
            rule(1, &["Preis", "was kostet"], MatchMode::Any, 10),
            rule(2, &["Öffnungszeiten", "geöffnet"], MatchMode::Any, 5),
            rule(3, &["bestellung", "wo"], MatchMode::All, 7),
            rule(4, &["hallo", "hi"], MatchMode::Exact, 1),
            rule(5, &[r"^(wann|when).*(offen|open)"], MatchMode::Regex, 3),
            substring,
        ])
        .unwrap();
        let cases: &[(&str, &[i64])] = &[
            ("Preis?", &[1]),
            ("Was ist der PREÍS", &[1]),
            ("preis", &[1]),
            ("Das Preisschild fehlt", &[]),
            ("Was kostet das?", &[1]),
            ("was  kostet", &[1]),
            ("Wie sind Ihre Öffnungszeiten?", &[2]),
            ("oeffnungszeiten", &[]), // transliteration is not folding
            ("Wo ist meine Bestellung?", &[3]),
            ("Meine Bestellung bitte", &[]), // all: needs "wo" too
            ("Hallo", &[4]),
            ("Hallo, was kostet das?", &[1]), // exact: only the whole message
            ("  HI! ", &[4]),
            ("Wann habt ihr offen?", &[5]),
            ("Versandkosten?", &[6]), // whole_word off
            ("Preis und Öffnungszeiten", &[1, 2]),
        ];
        for (text, want) in cases {
            assert_eq!(ids(&c, text), *want, "{text:?}");
        }
    }

    #[test]
    fn cooldown_and_priority() {
        let c = CompiledRules::compile(vec![
            rule(1, &["preis"], MatchMode::Any, 10),
            rule(2, &["preis"], MatchMode::Any, 1),
        ])
        .unwrap();
        assert_eq!(c.choose("Preis?", 0, |_| None).unwrap().id, 1);
        // Rule 1 answered 10 s ago: the next matching rule answers instead.
        assert_eq!(
            c.choose("Preis?", 10_000, |id| (id == 1).then_some(0))
                .unwrap()
                .id,
            2
        );
        assert!(c.choose("Preis?", 10_000, |_| Some(0)).is_none());
        assert_eq!(c.choose("Preis?", 60_000, |_| Some(0)).unwrap().id, 1);
    }

    #[test]
    fn validation_names_the_rule() {
        let mut r = rule(9, &["(unclosed"], MatchMode::Regex, 0);
        r.name = "Preise".into();
        let e = validate(&r).unwrap_err().to_string();
        assert!(
            e.contains("Preise") && e.contains("invalid regular expression"),
            "{e}"
        );
        assert!(validate(&rule(1, &[], MatchMode::Any, 0)).is_err());
        assert!(validate(&rule(1, &["?!"], MatchMode::Any, 0)).is_err());
    }
}
