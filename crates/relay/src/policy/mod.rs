//! The outbound policy and automations.
//!
//! Decisions are pure functions over data with the clock passed in (`now`, Unix ms):
//! [`normalize`] (text folding), [`filter`] (sensitive words), [`autoreply`] (keyword rules),
//! [`hours`] (business hours, away text), [`window`] (24-hour rule), [`templates`] (template
//! validation) and [`ratelimit`] (per-number rate, pair limit, backoff, dispatch plan).
//!
//! Wiring: every outbound message — an agent's reply, an auto-reply, an away message, later bulk
//! sends — is queued only through `store::outbox::enqueue`, which calls [`check`] first, inside the
//! same write job, so the decision sees the same data the queue is written with. A refused send is
//! not queued; a sensitive-word refusal is recorded (`policy_blocks`) and reported to supervisors
//! as a `policy.blocked` event; a supervisor may allow that one message through (audited).
//!
//! The compiled forms (filter automata, rule automata, parsed hours) are built when settings
//! change ([`PolicyEngine::reload`]), never per message, and shared as one immutable snapshot;
//! the sensitive-word automata are rebuilt only when the stored words changed.
//!
//! Sensitive words: one list for every language plus optional lists per language. A message to
//! a customer is checked against the list for every language and the list of the customer's
//! language as the relay tells it ([`hours::customer_language`] over the customer's number and
//! their latest message, the same guess routing's skill rules use).
//!
//! Business hours: per number and per team. For a conversation that belongs to a team (the
//! team it was routed or transferred within, else the team its number's routing policy routes
//! to) that team's hours apply if the team has any; otherwise the number's.

pub mod autoreply;
pub mod filter;
pub mod hours;
pub mod normalize;
pub mod ratelimit;
pub mod templates;
pub mod window;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::store::db::Db;
use switchboard_protocol::api::SendRequest;

use crate::store::{self, Store};

/// Who queued an outbound message; decides its queue priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Agent,
    AutoReply,
    Away,
    Bulk,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Agent => "agent",
            Origin::AutoReply => "auto_reply",
            Origin::Away => "away",
            Origin::Bulk => "bulk",
        }
    }
    /// Agent replies before automatic replies before bulk sends.
    pub fn priority(self) -> i64 {
        match self {
            Origin::Agent => 2,
            Origin::AutoReply | Origin::Away => 1,
            Origin::Bulk => 0,
        }
    }
}

pub use switchboard_protocol::policy::{Refusal, TemplateRef};

/// A refusal with its code and message and no details yet.
fn refusal(code: &str, message: String) -> Box<Refusal> {
    Box::new(Refusal {
        code: code.into(),
        message,
        matched: None,
        matched_language: None,
        templates: Vec::new(),
        window_closed_at: None,
        block_id: None,
    })
}

/// What a rule sends and whether the conversation still goes to an agent.
#[derive(Debug, Clone)]
pub struct RuleAction {
    pub reply: SendRequest,
    pub handoff: bool,
}

/// The rules of one number, compiled, with their actions.
#[derive(Debug, Default)]
pub struct NumberRules {
    pub compiled: autoreply::CompiledRules,
    pub actions: HashMap<i64, RuleAction>,
}

/// Everything the policy needs, compiled: one immutable snapshot.
#[derive(Debug, Default)]
pub struct Compiled {
    pub filter: Arc<filter::SensitiveLists>,
    pub rules: HashMap<String, NumberRules>,
    /// Business hours per number.
    pub hours: HashMap<String, hours::Hours>,
    /// Business hours per team (they win over the number's for the team's conversations).
    pub team_hours: HashMap<i64, hours::Hours>,
}

/// What the snapshot is compiled from, as stored (read by `store::policy::policy_inputs`).
pub struct Inputs {
    /// (language, entry); language `*` for every language.
    pub words: Vec<(String, String)>,
    pub rules: Vec<store::policy::RuleRow>,
    pub hours: Vec<(String, hours::BusinessHours)>,
    pub team_hours: Vec<(i64, hours::BusinessHours)>,
}

impl Compiled {
    /// Builds the snapshot from the database.
    pub fn load(conn: &Db) -> store::Result<Compiled> {
        Compiled::load_reusing(conn, None)
    }

    /// Reads the inputs (store I/O, in `store::policy`) and compiles them, keeping `previous`'s
    /// compiled sensitive-word lists when the stored words did not change.
    pub fn load_reusing(conn: &Db, previous: Option<&Compiled>) -> store::Result<Compiled> {
        let inputs = store::policy::policy_inputs(conn)?;
        Compiled::build(inputs, previous).map_err(store::StoreError::Corrupt)
    }

    /// Compiles the snapshot from its inputs (pure): a rule or hours change does not rebuild the
    /// automata of unchanged sensitive words.
    pub fn build(inputs: Inputs, previous: Option<&Compiled>) -> Result<Compiled, String> {
        let rows = inputs.words;
        let filter = match previous {
            Some(p) if p.filter.source() == rows.as_slice() => p.filter.clone(),
            _ => Arc::new(filter::SensitiveLists::compile(rows).map_err(|e| e.to_string())?),
        };
        let mut by_number: HashMap<String, (Vec<autoreply::Rule>, HashMap<i64, RuleAction>)> =
            HashMap::new();
        // A paused rule answers nobody: it is not compiled at all.
        for r in inputs.rules.into_iter().filter(|r| !r.rule.paused) {
            let e = by_number.entry(r.phone_number_id.clone()).or_default();
            e.1.insert(
                r.id,
                RuleAction {
                    reply: r.reply.to_send_request(),
                    handoff: r.handoff,
                },
            );
            e.0.push(r.to_rule());
        }
        let mut rules = HashMap::new();
        for (pnid, (list, actions)) in by_number {
            let compiled = autoreply::CompiledRules::compile(list).map_err(|e| e.to_string())?;
            rules.insert(pnid, NumberRules { compiled, actions });
        }
        let mut hours = HashMap::new();
        for (pnid, settings) in inputs.hours {
            let h = hours::Hours::parse(settings)?;
            hours.insert(pnid, h);
        }
        let mut team_hours = HashMap::new();
        for (team, settings) in inputs.team_hours {
            let h = hours::Hours::parse(settings)?;
            team_hours.insert(team, h);
        }
        Ok(Compiled {
            filter,
            rules,
            hours,
            team_hours,
        })
    }

    /// The business hours that apply to a conversation of `phone_number_id` within `team`:
    /// the team's if it has any, else the number's.
    pub fn hours_for(&self, phone_number_id: &str, team: Option<i64>) -> Option<&hours::Hours> {
        team.and_then(|t| self.team_hours.get(&t))
            .or_else(|| self.hours.get(phone_number_id))
    }
}

/// The shared, swappable snapshot.
#[derive(Default)]
pub struct PolicyEngine {
    current: RwLock<Arc<Compiled>>,
}

impl PolicyEngine {
    pub fn current(&self) -> Arc<Compiled> {
        self.current.read().expect("policy lock").clone()
    }

    /// Recompiles from the database (after a settings change, and at start-up).
    pub async fn reload(&self, store: &Store) -> store::Result<()> {
        let previous = self.current();
        let compiled = store
            .read(move |c| Compiled::load_reusing(c, Some(&previous)))
            .await?;
        *self.current.write().expect("policy lock") = Arc::new(compiled);
        Ok(())
    }
}

/// The conversation facts the policy decides on.
#[derive(Debug, Clone)]
pub struct ConversationFacts {
    pub phone_number_id: String,
    pub waba_id: Option<String>,
    pub last_inbound_at: Option<i64>,
    /// The customer's language (`de`, `en`, ...): picks the per-language sensitive-word list.
    pub language: Option<String>,
}

/// Every text of a send that reaches the customer.
pub fn outbound_texts(req: &SendRequest) -> Vec<&str> {
    match req {
        SendRequest::Text { text, .. } => vec![text.as_str()],
        SendRequest::Template { template, .. } => template
            .header_parameters
            .iter()
            .chain(template.parameters.iter())
            .map(String::as_str)
            .collect(),
        SendRequest::Image { caption, .. } => caption.iter().map(String::as_str).collect(),
        SendRequest::Document {
            caption, filename, ..
        } => caption
            .iter()
            .chain(filename.iter())
            .map(String::as_str)
            .collect(),
    }
}

/// The one outbound check: sensitive words, then the 24-hour window, then templates.
/// `known_templates` are the synced templates of the number's account.
pub fn check(
    now: i64,
    compiled: &Compiled,
    conv: &ConversationFacts,
    req: &SendRequest,
    known_templates: &[templates::StoredTemplate],
    skip_word_filter: bool,
) -> Result<(), Box<Refusal>> {
    if !skip_word_filter {
        for text in outbound_texts(req) {
            if let Some(hit) = compiled.filter.check(text, conv.language.as_deref()) {
                let list = match &hit.language {
                    None => "the list of words that must not be sent".to_string(),
                    Some(l) => format!(
                        "the list of words that must not be sent to customers writing in {l:?}"
                    ),
                };
                let mut r = refusal(
                    "sensitive_word",
                    format!(
                        "This message contains {:?}, which is on {list}; nothing was sent. A supervisor can allow it.",
                        hit.entry
                    ),
                );
                r.matched = Some(hit.entry);
                r.matched_language = hit.language;
                return Err(r);
            }
        }
    }
    match req {
        SendRequest::Template { template, .. } => {
            if known_templates.is_empty() {
                return Err(refusal(
                    "template_invalid",
                    "No templates are known for this number yet (they are synced from WhatsApp); try again shortly or ask an admin to sync templates.".into(),
                ));
            }
            templates::validate(template, known_templates)
                .map_err(|m| refusal("template_invalid", format!("Cannot send: {m}.")))?;
        }
        _ => {
            if !window::is_open(conv.last_inbound_at, now) {
                let offered: Vec<TemplateRef> = known_templates
                    .iter()
                    .filter(|t| t.status == "APPROVED")
                    .map(|t| TemplateRef {
                        name: t.name.clone(),
                        language: t.language.clone(),
                        category: t.category.clone(),
                        parameters: t.body_params,
                        header_parameters: t.header_params,
                    })
                    .collect();
                let names: Vec<String> = offered
                    .iter()
                    .map(|t| format!("{} ({})", t.name, t.language))
                    .collect();
                let why = match conv.last_inbound_at {
                    Some(_) => "The customer last wrote more than 24 hours ago, so WhatsApp only allows approved templates.",
                    None => "The customer has not written to this number, so WhatsApp only allows approved templates.",
                };
                let mut r = refusal(
                    "window_closed",
                    if names.is_empty() {
                        format!("{why} No approved templates are synced yet.")
                    } else {
                        format!("{why} Approved templates: {}.", names.join(", "))
                    },
                );
                r.templates = offered;
                r.window_closed_at = window::closes_at(conv.last_inbound_at);
                return Err(r);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_protocol::api::TemplateSend;

    fn compiled(words: &[&str]) -> Compiled {
        Compiled {
            filter: Arc::new(
                filter::SensitiveLists::compile(
                    words
                        .iter()
                        .map(|s| (String::new(), s.to_string()))
                        .collect(),
                )
                .unwrap(),
            ),
            ..Compiled::default()
        }
    }

    fn text(t: &str) -> SendRequest {
        SendRequest::Text {
            text: t.into(),
            preview_url: false,
            reply_to: None,
        }
    }

    #[test]
    fn gate_case_table() {
        let c = compiled(&["kostenlos"]);
        let t0 = 1_790_000_000_000;
        let conv = ConversationFacts {
            phone_number_id: "1".into(),
            waba_id: Some("w".into()),
            last_inbound_at: Some(t0),
            language: Some("de".into()),
        };
        let known = vec![templates::StoredTemplate {
            name: "order_update".into(),
            language: "de".into(),
            category: "UTILITY".into(),
            status: "APPROVED".into(),
            body_params: 1,
            header_params: 0,
            body: "Hallo {{1}}".into(),
            header: String::new(),
        }];
        let tpl = |p: &[&str]| SendRequest::Template {
            template: TemplateSend {
                name: "order_update".into(),
                language: "de".into(),
                parameters: p.iter().map(|s| s.to_string()).collect(),
                header_parameters: Vec::new(),
            },
            reply_to: None,
        };
        let hms = |h: i64, m: i64, s: i64| t0 + ((h * 60 + m) * 60 + s) * 1000;
        let cases: Vec<(i64, SendRequest, Option<&str>)> = vec![
            (hms(1, 0, 0), text("Hallo"), None),
            (hms(23, 59, 59), text("Hallo"), None),
            (hms(24, 0, 1), text("Hallo"), Some("window_closed")),
            (hms(24, 0, 1), tpl(&["Ana"]), None),
            (hms(24, 0, 1), tpl(&[]), Some("template_invalid")),
            (
                hms(1, 0, 0),
                text("Alles k.o.s.t.e.n.l.o.s"),
                Some("sensitive_word"),
            ),
            (hms(1, 0, 0), tpl(&["kostenlos"]), Some("sensitive_word")),
            // The word filter comes first: nothing with a blocked word leaves, even as a template.
            (hms(30, 0, 0), text("kostenlos"), Some("sensitive_word")),
        ];
        for (now, req, want) in cases {
            let got = check(now, &c, &conv, &req, &known, false).err();
            assert_eq!(
                got.as_ref().map(|r| r.code.as_str()),
                want,
                "{req:?} at {now}"
            );
            if let Some(r) = got {
                match r.code.as_str() {
                    "sensitive_word" => {
                        assert_eq!(r.matched.as_deref(), Some("kostenlos"));
                        assert!(r.message.contains("\"kostenlos\""));
                    }
                    "window_closed" => {
                        assert_eq!(r.templates[0].name, "order_update");
                        assert!(r.message.contains("order_update (de)"));
                    }
                    _ => {}
                }
            }
        }
        // A supervisor's override skips only the word filter.
        assert!(check(hms(1, 0, 0), &c, &conv, &text("kostenlos"), &known, true).is_ok());
        assert!(check(hms(25, 0, 0), &c, &conv, &text("kostenlos"), &known, true).is_err());
    }

    #[test]
    fn the_customers_language_adds_its_list_and_header_parameters_are_checked() {
        let lists = filter::SensitiveLists::compile(vec![
            (String::new(), "kostenlos".into()),
            ("de".into(), "Gift".into()),
        ])
        .unwrap();
        let c = Compiled {
            filter: Arc::new(lists),
            ..Compiled::default()
        };
        let now = 1_790_000_000_000;
        let conv = |lang: Option<&str>| ConversationFacts {
            phone_number_id: "1".into(),
            waba_id: None,
            last_inbound_at: Some(now),
            language: lang.map(str::to_string),
        };
        let r = check(
            now,
            &c,
            &conv(Some("de")),
            &text("Ein Gift-Set"),
            &[],
            false,
        )
        .unwrap_err();
        assert_eq!(
            (
                r.code.as_str(),
                r.matched.as_deref(),
                r.matched_language.as_deref()
            ),
            ("sensitive_word", Some("Gift"), Some("de"))
        );
        assert!(
            r.message.contains("customers writing in \"de\""),
            "{}",
            r.message
        );
        assert!(check(now, &c, &conv(Some("en")), &text("A gift set"), &[], false).is_ok());
        assert!(check(now, &c, &conv(None), &text("A gift set"), &[], false).is_ok());
        for lang in [Some("de"), Some("en"), None] {
            let r = check(now, &c, &conv(lang), &text("kostenlos"), &[], false).unwrap_err();
            assert_eq!(r.matched_language, None);
        }
        // Header parameters reach the customer too.
        let tpl = SendRequest::Template {
            template: TemplateSend {
                name: "shipping_update".into(),
                language: "de".into(),
                parameters: vec!["Ana".into()],
                header_parameters: vec!["KOSTENLOS".into()],
            },
            reply_to: None,
        };
        let r = check(now, &c, &conv(Some("de")), &tpl, &[], false).unwrap_err();
        assert_eq!(r.matched.as_deref(), Some("kostenlos"));
    }

    #[test]
    fn team_hours_win_over_the_number_hours() {
        let h = |tz: &str| {
            hours::Hours::parse(hours::BusinessHours {
                time_zone: tz.into(),
                weekly: Default::default(),
                closed_dates: vec![],
                exceptions: vec![],
                away_message: Default::default(),
                away_period_minutes: 60,
                default_language: "de".into(),
                enabled: true,
            })
            .unwrap()
        };
        let mut c = Compiled::default();
        c.hours.insert("1".into(), h("Europe/Berlin"));
        c.team_hours.insert(7, h("America/New_York"));
        let tz = |pnid: &str, team| {
            c.hours_for(pnid, team)
                .map(|h| h.settings.time_zone.clone())
        };
        assert_eq!(tz("1", Some(7)).as_deref(), Some("America/New_York"));
        assert_eq!(tz("2", Some(7)).as_deref(), Some("America/New_York"));
        assert_eq!(
            tz("1", Some(8)).as_deref(),
            Some("Europe/Berlin"),
            "a team without hours"
        );
        assert_eq!(tz("1", None).as_deref(), Some("Europe/Berlin"));
        assert_eq!(tz("2", None), None);
    }

    #[test]
    fn the_word_automata_are_rebuilt_only_when_the_words_change() {
        let conn = rusqlite::Connection::open_in_memory()
            .map(crate::store::db::Db::sqlite)
            .unwrap();
        for sql in [
            include_str!("../../migrations/0001_init.sql"),
            include_str!("../../migrations/0002_policy.sql"),
            include_str!("../../migrations/0003_routing.sql"),
            include_str!("../../migrations/0004_notes.sql"),
            include_str!("../../migrations/0005_policy_languages_teams.sql"),
            include_str!("../../migrations/0014_auto_reply_pause.sql"),
        ] {
            conn.execute_batch(sql).unwrap();
        }
        let words = |all: &[&str], de: &[&str]| {
            store::policy::replace_sensitive_words(
                &conn,
                &all.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                0,
            )
            .unwrap();
            let mut langs = std::collections::BTreeMap::new();
            langs.insert("de".to_string(), de.iter().map(|s| s.to_string()).collect());
            store::policy::replace_language_lists(&conn, &langs, 0).unwrap();
        };
        words(&["kostenlos"], &["Gift"]);
        let first = Compiled::load(&conn).unwrap();
        // Other settings change: the same compiled lists are kept.
        conn.execute(
            "INSERT INTO business_hours (phone_number_id, settings, updated_at) VALUES ('1', '{\"time_zone\": \"Europe/Berlin\"}', 0)",
            (),
        )
        .unwrap();
        let second = Compiled::load_reusing(&conn, Some(&first)).unwrap();
        assert!(Arc::ptr_eq(&first.filter, &second.filter));
        assert_eq!(second.hours.len(), 1);
        // The same words stored again (new rows, same content): still kept.
        words(&["kostenlos"], &["Gift"]);
        let third = Compiled::load_reusing(&conn, Some(&second)).unwrap();
        assert!(Arc::ptr_eq(&first.filter, &third.filter));
        // A language list changes: rebuilt.
        words(&["kostenlos"], &["Gift", "Lotto"]);
        let fourth = Compiled::load_reusing(&conn, Some(&third)).unwrap();
        assert!(!Arc::ptr_eq(&third.filter, &fourth.filter));
        assert_eq!(fourth.filter.by_language["de"].len(), 2);
        assert_eq!(fourth.filter.all.len(), 1);
    }
}
