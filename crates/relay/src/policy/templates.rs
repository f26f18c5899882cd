//! Message templates: reading the Graph API's template list and validating template sends
//! against it (pure).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_protocol::api::TemplateSend;

/// A template as synced (one name in one language).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredTemplate {
    pub name: String,
    pub language: String,
    /// `UTILITY`, `MARKETING`, `AUTHENTICATION`.
    pub category: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`.
    pub status: String,
    /// Placeholders in the body: the parameters a send must carry.
    pub body_params: usize,
    pub header_params: usize,
    pub body: String,
}

/// Counts distinct `{{...}}` placeholders.
pub fn count_placeholders(text: &str) -> usize {
    let mut seen: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty() && !seen.contains(&name) {
            seen.push(name);
        }
        rest = &after[end + 2..];
    }
    seen.len()
}

/// Parses one page of `GET /{waba_id}/message_templates` (`{"data": [...], "paging": ...}`).
/// Returns the templates and the next page URL, if any.
pub fn parse_page(body: &Value) -> (Vec<StoredTemplate>, Option<String>) {
    let mut out = Vec::new();
    for t in body["data"].as_array().into_iter().flatten() {
        let (Some(name), Some(language)) = (t["name"].as_str(), t["language"].as_str()) else {
            continue;
        };
        let mut body_text = String::new();
        let mut header_params = 0;
        for c in t["components"].as_array().into_iter().flatten() {
            match c["type"].as_str().map(str::to_ascii_uppercase).as_deref() {
                Some("BODY") => body_text = c["text"].as_str().unwrap_or_default().to_string(),
                Some("HEADER") if c["format"].as_str().unwrap_or("TEXT") == "TEXT" => {
                    header_params = count_placeholders(c["text"].as_str().unwrap_or_default())
                }
                _ => {}
            }
        }
        out.push(StoredTemplate {
            name: name.to_string(),
            language: language.to_string(),
            category: t["category"].as_str().unwrap_or("UTILITY").to_string(),
            status: t["status"].as_str().unwrap_or("APPROVED").to_string(),
            body_params: count_placeholders(&body_text),
            header_params,
            body: body_text,
        });
    }
    let next = body["paging"]["next"].as_str().map(str::to_string);
    (out, next)
}

/// Checks a template send against the synced templates. The error is a sentence for the agent.
pub fn validate(send: &TemplateSend, known: &[StoredTemplate]) -> Result<(), String> {
    let same_name: Vec<&StoredTemplate> = known.iter().filter(|t| t.name == send.name).collect();
    if same_name.is_empty() {
        return Err(format!(
            "there is no template named {:?} for this number",
            send.name
        ));
    }
    let Some(t) = same_name.iter().find(|t| t.language == send.language) else {
        let langs: Vec<&str> = same_name.iter().map(|t| t.language.as_str()).collect();
        return Err(format!(
            "template {:?} does not exist in language {:?} (available: {})",
            send.name,
            send.language,
            langs.join(", ")
        ));
    };
    if t.status != "APPROVED" {
        return Err(format!(
            "template {:?} ({}) is {} and cannot be sent",
            t.name,
            t.language,
            t.status.to_lowercase()
        ));
    }
    if t.header_params > 0 {
        return Err(format!(
            "template {:?} ({}) needs header parameters, which this relay does not send yet",
            t.name, t.language
        ));
    }
    if send.parameters.len() != t.body_params {
        return Err(format!(
            "template {:?} ({}) takes {} parameter{}, {} given",
            t.name,
            t.language,
            t.body_params,
            if t.body_params == 1 { "" } else { "s" },
            send.parameters.len()
        ));
    }
    if let Some(i) = send.parameters.iter().position(|p| p.trim().is_empty()) {
        return Err(format!("template parameter {} is empty", i + 1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn known() -> Vec<StoredTemplate> {
        let (t, next) = parse_page(&json!({"data": [
            {"name": "order_update", "language": "de", "status": "APPROVED", "category": "UTILITY",
             "components": [{"type": "BODY", "text": "Hallo {{1}}, Bestellung {{2}}; {{1}}"}]},
            {"name": "order_update", "language": "en", "status": "APPROVED", "category": "UTILITY",
             "components": [{"type": "BODY", "text": "Hi {{1}}, order {{2}}"}]},
            {"name": "hello_world", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
             "components": [{"type": "HEADER", "format": "TEXT", "text": "Hello World"}, {"type": "BODY", "text": "Welcome"}]},
            {"name": "old_offer", "language": "de", "status": "PAUSED", "category": "MARKETING",
             "components": [{"type": "BODY", "text": "x"}]},
        ], "paging": {"cursors": {}}}));
        assert!(next.is_none());
        t
    }

    fn send(name: &str, lang: &str, params: &[&str]) -> TemplateSend {
        TemplateSend {
            name: name.into(),
            language: lang.into(),
            parameters: params.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn validation_case_table() {
        let k = known();
        assert_eq!(k[0].body_params, 2);
        let cases: &[(TemplateSend, Option<&str>)] = &[
            (send("order_update", "de", &["Ana", "42"]), None),
            (send("hello_world", "en_US", &[]), None),
            (
                send("order_update", "de", &["Ana"]),
                Some("takes 2 parameters, 1 given"),
            ),
            (
                send("order_update", "fr", &["Ana", "42"]),
                Some("available: de, en"),
            ),
            (send("nope", "de", &[]), Some("no template named")),
            (send("old_offer", "de", &[]), Some("is paused")),
            (
                send("order_update", "en", &["Ana", " "]),
                Some("parameter 2 is empty"),
            ),
        ];
        for (s, want) in cases {
            match (validate(s, &k), want) {
                (Ok(()), None) => {}
                (Err(e), Some(w)) => assert!(e.contains(w), "{s:?}: {e}"),
                (got, want) => panic!("{s:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
