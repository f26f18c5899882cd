//! Message templates: reading the Graph API's template list and validating template sends
//! against it (pure).

use serde_json::Value;
use switchboard_protocol::api::TemplateSend;

/// A template as synced (one name in one language): the wire type.
pub use switchboard_protocol::api::Template as StoredTemplate;

/// Characters of header text WhatsApp allows, parameters filled in.
pub const MAX_HEADER_CHARS: usize = 60;

pub use switchboard_protocol::template_text::{count_placeholders, fill};

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
        let mut header = String::new();
        for c in t["components"].as_array().into_iter().flatten() {
            match c["type"].as_str().map(str::to_ascii_uppercase).as_deref() {
                Some("BODY") => body_text = c["text"].as_str().unwrap_or_default().to_string(),
                Some("HEADER") if c["format"].as_str().unwrap_or("TEXT") == "TEXT" => {
                    header = c["text"].as_str().unwrap_or_default().to_string();
                    header_params = count_placeholders(&header)
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
            header,
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
    if send.header_parameters.len() != t.header_params {
        return Err(format!(
            "template {:?} ({}) takes {} header parameter{}, {} given",
            t.name,
            t.language,
            t.header_params,
            if t.header_params == 1 { "" } else { "s" },
            send.header_parameters.len()
        ));
    }
    if let Some(i) = send
        .header_parameters
        .iter()
        .position(|p| p.trim().is_empty())
    {
        return Err(format!("template header parameter {} is empty", i + 1));
    }
    // WhatsApp allows 60 characters of header text with its parameters filled in.
    if t.header_params > 0 {
        let header = fill(&t.header, &send.header_parameters);
        if header.chars().count() > MAX_HEADER_CHARS {
            return Err(format!(
                "the header of template {:?} ({}) would be {} characters with these parameters; WhatsApp allows {MAX_HEADER_CHARS}",
                t.name,
                t.language,
                header.chars().count()
            ));
        }
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

    #[test]
    fn fill_replaces_placeholders_in_order_of_first_appearance() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(fill("Bestellung {{1}}", &p(&["A-42"])), "Bestellung A-42");
        assert_eq!(fill("{{2}}-{{1}}-{{2}}", &p(&["a", "b"])), "b-a-b");
        assert_eq!(fill("{{b}}-{{a}}-{{b}}", &p(&["x", "y"])), "x-y-x");
        assert_eq!(fill("{{name}} {{", &p(&["Ana"])), "Ana {{");
        assert_eq!(fill("no params", &p(&[])), "no params");
        assert_eq!(fill("{{1}} {{2}}", &p(&["a"])), "a {{2}}");
    }

    fn known() -> Vec<StoredTemplate> {
        let (t, next) = parse_page(&json!({"data": [
            {"name": "order_update", "language": "de", "status": "APPROVED", "category": "UTILITY",
             "components": [{"type": "BODY", "text": "Hallo {{1}}, Bestellung {{2}}; {{1}}"}]},
            {"name": "order_update", "language": "en", "status": "APPROVED", "category": "UTILITY",
             "components": [{"type": "BODY", "text": "Hi {{1}}, order {{2}}"}]},
            {"name": "hello_world", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
             "components": [{"type": "HEADER", "format": "TEXT", "text": "Hello World"}, {"type": "BODY", "text": "Welcome"}]},
            {"name": "shipping_update", "language": "de", "status": "APPROVED", "category": "UTILITY",
             "components": [{"type": "HEADER", "format": "TEXT", "text": "Bestellung {{1}}"},
                            {"type": "BODY", "text": "Hallo {{1}}, sie ist unterwegs."}]},
            {"name": "promo_image", "language": "de", "status": "APPROVED", "category": "MARKETING",
             "components": [{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Neu"}]},
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
            header_parameters: Vec::new(),
        }
    }

    fn with_header(mut t: TemplateSend, header: &[&str]) -> TemplateSend {
        t.header_parameters = header.iter().map(|s| s.to_string()).collect();
        t
    }

    #[test]
    fn validation_case_table() {
        let k = known();
        assert_eq!(k[0].body_params, 2);
        let shipping = k.iter().find(|t| t.name == "shipping_update").unwrap();
        assert_eq!((shipping.header_params, shipping.body_params), (1, 1));
        assert_eq!(shipping.header, "Bestellung {{1}}");
        let long = "x".repeat(MAX_HEADER_CHARS);
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
                with_header(send("shipping_update", "de", &["Ana"]), &["A-42"]),
                None,
            ),
            (
                send("shipping_update", "de", &["Ana"]),
                Some("takes 1 header parameter, 0 given"),
            ),
            (
                with_header(send("shipping_update", "de", &["Ana"]), &["A", "B"]),
                Some("takes 1 header parameter, 2 given"),
            ),
            (
                with_header(send("shipping_update", "de", &["Ana"]), &[" "]),
                Some("header parameter 1 is empty"),
            ),
            (
                with_header(send("shipping_update", "de", &["Ana"]), &[long.as_str()]),
                Some("WhatsApp allows 60"),
            ),
            (
                with_header(send("order_update", "de", &["Ana", "42"]), &["x"]),
                Some("takes 0 header parameters, 1 given"),
            ),
            // A media header takes no text parameters.
            (send("promo_image", "de", &[]), None),
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
