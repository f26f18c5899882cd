//! The in-memory template store: a few approved templates seeded at start, lookups for sends,
//! and the Graph `message_templates` listing shape.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
pub(crate) use switchboard_protocol::template_text::{count_placeholders, fill};

/// Meta's template categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateCategory {
    Utility,
    Marketing,
    Authentication,
}

impl TemplateCategory {
    /// The lowercase form used in status webhooks' `pricing.category`.
    pub fn pricing_category(self) -> &'static str {
        match self {
            TemplateCategory::Utility => "utility",
            TemplateCategory::Marketing => "marketing",
            TemplateCategory::Authentication => "authentication",
        }
    }
}

/// Review state of a template. Only `Approved` templates can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateStatus {
    Approved,
    Pending,
    Rejected,
    Paused,
    Disabled,
}

/// One template in one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub name: String,
    /// Language code as sent in `template.language.code` (`en_US`, `de`, ...).
    pub language: String,
    pub category: TemplateCategory,
    pub status: TemplateStatus,
    /// Header text (may hold `{{1}}`); `None` for no header.
    #[serde(default)]
    pub header: Option<String>,
    /// Body text with positional `{{1}}` (or named `{{first_name}}`) placeholders.
    pub body: String,
    #[serde(default)]
    pub footer: Option<String>,
    /// Digit id; assigned by the store when empty.
    #[serde(default)]
    pub id: String,
}

impl Template {
    pub fn approved(
        name: &str,
        language: &str,
        category: TemplateCategory,
        body: &str,
    ) -> Template {
        Template {
            name: name.into(),
            language: language.into(),
            category,
            status: TemplateStatus::Approved,
            header: None,
            body: body.into(),
            footer: None,
            id: String::new(),
        }
    }

    /// Number of distinct placeholders in the body.
    pub fn body_params(&self) -> usize {
        count_placeholders(&self.body)
    }

    /// Number of distinct placeholders in the header.
    pub fn header_params(&self) -> usize {
        self.header.as_deref().map_or(0, count_placeholders)
    }

    /// The Graph listing shape of this template.
    pub fn to_graph(&self) -> Value {
        let mut components = Vec::new();
        if let Some(h) = &self.header {
            let mut header = json!({"type": "HEADER", "format": "TEXT", "text": h});
            let examples = example_values(self.header_params());
            if !examples.is_empty() {
                header["example"] = json!({"header_text": examples});
            }
            components.push(header);
        }
        let mut body = json!({"type": "BODY", "text": self.body});
        let examples = example_values(self.body_params());
        if !examples.is_empty() {
            body["example"] = json!({"body_text": [examples]});
        }
        components.push(body);
        if let Some(f) = &self.footer {
            components.push(json!({"type": "FOOTER", "text": f}));
        }
        json!({
            "name": self.name,
            "parameter_format": "POSITIONAL",
            "components": components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "id": self.id,
        })
    }
}

fn example_values(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("example {i}")).collect()
}

/// Characters of header text Meta allows once the parameters are filled in.
pub(crate) const MAX_HEADER_CHARS: usize = 60;

/// The store: a list, small enough that linear lookups are fine.
#[derive(Debug, Default)]
pub(crate) struct TemplateStore {
    templates: Vec<Template>,
}

impl TemplateStore {
    /// Seeded with `hello_world` (en_US), `order_update` (de, en), `shipping_update` (de, en; a
    /// text header with one parameter), `appointment_reminder` (de) and `spring_offer` (de,
    /// marketing).
    pub(crate) fn seeded(mut next_id: impl FnMut() -> String) -> Self {
        let mut hello = Template::approved(
            "hello_world",
            "en_US",
            TemplateCategory::Utility,
            "Welcome and congratulations!! This message demonstrates your ability to send a \
             WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for \
             taking the time to test with us.",
        );
        hello.header = Some("Hello World".into());
        hello.footer = Some("WhatsApp Business Platform sample message".into());
        let mut shipping_de = Template::approved(
            "shipping_update",
            "de",
            TemplateCategory::Utility,
            "Hallo {{1}}, Ihre Bestellung wurde verschickt und kommt in den nächsten Tagen an.",
        );
        shipping_de.header = Some("Bestellung {{1}}".into());
        let mut shipping_en = Template::approved(
            "shipping_update",
            "en",
            TemplateCategory::Utility,
            "Hi {{1}}, your order has shipped and will arrive in the next few days.",
        );
        shipping_en.header = Some("Order {{1}}".into());
        let seeds = vec![
            hello,
            shipping_de,
            shipping_en,
            Template::approved(
                "order_update",
                "de",
                TemplateCategory::Utility,
                "Hallo {{1}}, Ihre Bestellung {{2}} ist unterwegs. Bei Fragen antworten Sie \
                 einfach auf diese Nachricht.",
            ),
            Template::approved(
                "order_update",
                "en",
                TemplateCategory::Utility,
                "Hi {{1}}, your order {{2}} is on its way. Just reply to this message if you \
                 have any questions.",
            ),
            Template::approved(
                "appointment_reminder",
                "de",
                TemplateCategory::Utility,
                "Erinnerung: Ihr Termin ist am {{1}}. Antworten Sie mit JA zur Bestätigung.",
            ),
            Template::approved(
                "spring_offer",
                "de",
                TemplateCategory::Marketing,
                "Hallo {{1}}, nur diese Woche: 15 % Rabatt auf alles im Frühlingssortiment! 🌷",
            ),
        ];
        let mut store = TemplateStore::default();
        for mut t in seeds {
            t.id = next_id();
            store.templates.push(t);
        }
        store
    }

    /// Adds or replaces (same name and language) a template.
    pub(crate) fn upsert(&mut self, t: Template) {
        self.templates
            .retain(|x| !(x.name == t.name && x.language == t.language));
        self.templates.push(t);
    }

    pub(crate) fn find(&self, name: &str, language: &str) -> Option<&Template> {
        self.templates
            .iter()
            .find(|t| t.name == name && t.language == language)
    }

    pub(crate) fn all(&self) -> &[Template] {
        &self.templates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_counted_once() {
        assert_eq!(count_placeholders("Hi {{1}}, order {{2}}; again {{1}}"), 2);
    }

    #[test]
    fn seeded_store() {
        let mut n = 0;
        let s = TemplateStore::seeded(|| {
            n += 1;
            n.to_string()
        });
        assert_eq!(s.find("order_update", "de").unwrap().body_params(), 2);
        assert_eq!(s.find("hello_world", "en_US").unwrap().body_params(), 0);
        assert_eq!(
            s.find("appointment_reminder", "de").unwrap().body_params(),
            1
        );
        assert!(s.find("order_update", "fr").is_none());
        let shipping = s.find("shipping_update", "de").unwrap();
        assert_eq!((shipping.header_params(), shipping.body_params()), (1, 1));
        assert_eq!(
            fill(shipping.header.as_deref().unwrap(), &["A-42".into()]),
            "Bestellung A-42"
        );
        assert_eq!(fill("{{2}} {{1}} {{", &["a".into(), "b".into()]), "b a {{");
        assert_eq!(fill("{{x}} {{3}}", &["a".into()]), "a {{3}}");
        let header = &shipping.to_graph()["components"][0];
        assert_eq!(header["type"], "HEADER");
        assert_eq!(header["example"]["header_text"][0], "example 1");
        let g = s.find("order_update", "en").unwrap().to_graph();
        assert_eq!(g["status"], "APPROVED");
        assert_eq!(g["category"], "UTILITY");
        assert_eq!(g["components"][0]["type"], "BODY");
    }
}
