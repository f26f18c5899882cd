//! Validation of `POST /{phone_number_id}/messages` bodies the way the Graph API does it:
//! 131008 for a missing required parameter, 100 for an invalid one, with `error_data.details`
//! naming the field. A valid body becomes a [`Request`].

use serde_json::{Map, Value};

use crate::faults::normalise_recipient;
use crate::meta_error::GraphFailure;

/// What a valid body asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    /// `{"status": "read", "message_id": ...}`: mark an inbound message read.
    MarkRead {
        message_id: String,
        typing_indicator: bool,
    },
    Send(SendRequest),
}

/// Who a send is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recipient {
    /// A phone number: `input` as given, `wa_id` its digits.
    Phone { input: String, wa_id: String },
    /// A 2026 business-scoped user id.
    Bsuid(String),
}

impl Recipient {
    pub(crate) fn input(&self) -> &str {
        match self {
            Recipient::Phone { input, .. } => input,
            Recipient::Bsuid(b) => b,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SendRequest {
    pub recipient: Recipient,
    pub type_name: String,
    pub template: Option<TemplateRef>,
    /// `image.id` etc. when media is sent by id.
    pub media_id: Option<String>,
    pub biz_opaque_callback_data: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateRef {
    pub name: String,
    pub language: String,
    pub body_params: usize,
    pub header_params: usize,
    /// The header component's parameters, checked against the template's header format.
    pub header: Vec<TemplateParam>,
}

/// One template parameter: its `type` and, for `text`, its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateParam {
    pub kind: String,
    pub text: Option<String>,
}

/// Meta's parameter types.
const PARAM_TYPES: &[&str] = &[
    "text",
    "currency",
    "date_time",
    "image",
    "document",
    "video",
    "location",
    "payload",
    "coupon_code",
    "action",
];

fn check_param(p: &Value, path: &str) -> Result<TemplateParam, GraphFailure> {
    let p = p
        .as_object()
        .ok_or_else(|| invalid(format!("Param {path} must be a JSON object.")))?;
    let kind = req_str(p, "type", &format!("{path}['type']"))?.to_ascii_lowercase();
    if !PARAM_TYPES.contains(&kind.as_str()) {
        return Err(invalid(format!(
            "Param {path}['type'] must be one of {{{}}} - got \"{kind}\".",
            PARAM_TYPES.join(", ")
        )));
    }
    let text = match kind.as_str() {
        "text" => Some(req_str(p, "text", &format!("{path}['text']"))?.to_string()),
        "image" | "document" | "video" => {
            req_obj(p, &kind, &format!("{path}['{kind}']"))?;
            None
        }
        _ => None,
    };
    Ok(TemplateParam { kind, text })
}

const TYPES: &[&str] = &[
    "text",
    "template",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "reaction",
    "interactive",
    "location",
    "contacts",
];
const MEDIA_TYPES: &[&str] = &["image", "video", "audio", "document", "sticker"];
const INTERACTIVE_TYPES: &[&str] = &[
    "button",
    "list",
    "cta_url",
    "flow",
    "product",
    "product_list",
    "catalog_message",
    "location_request_message",
    "address_message",
    "call_permission_request",
];

type Obj = Map<String, Value>;

fn missing(path: &str) -> GraphFailure {
    GraphFailure::missing_param(format!("The parameter {path} is required."))
}

fn invalid(details: String) -> GraphFailure {
    GraphFailure::invalid_param(details)
}

fn opt_str<'a>(o: &'a Obj, key: &str, path: &str) -> Result<Option<&'a str>, GraphFailure> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("Param {path} must be a string."))),
    }
}

fn req_str<'a>(o: &'a Obj, key: &str, path: &str) -> Result<&'a str, GraphFailure> {
    opt_str(o, key, path)?.ok_or_else(|| missing(path))
}

fn req_obj<'a>(o: &'a Obj, key: &str, path: &str) -> Result<&'a Obj, GraphFailure> {
    match o.get(key) {
        None | Some(Value::Null) => Err(missing(path)),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(invalid(format!("Param {path} must be a JSON object."))),
    }
}

fn opt_array<'a>(o: &'a Obj, key: &str, path: &str) -> Result<&'a [Value], GraphFailure> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(invalid(format!("Param {path} must be an array."))),
    }
}

fn max_len(s: &str, max: usize, path: &str) -> Result<(), GraphFailure> {
    if s.chars().count() > max {
        Err(invalid(format!(
            "Param {path} must be at most {max} characters long."
        )))
    } else {
        Ok(())
    }
}

/// Validates a send (or mark-read) body.
pub(crate) fn parse(body: &Value) -> Result<Request, GraphFailure> {
    let o = body
        .as_object()
        .ok_or_else(|| invalid("The request body must be a JSON object.".into()))?;
    let product = req_str(o, "messaging_product", "messaging_product")?;
    if product != "whatsapp" {
        return Err(invalid(format!(
            "Param messaging_product must be 'whatsapp', got '{product}'."
        )));
    }
    if o.contains_key("status") {
        return parse_mark_read(o);
    }
    let recipient = parse_recipient(o)?;
    if let Some(rt) = opt_str(o, "recipient_type", "recipient_type")? {
        if rt != "individual" && rt != "group" {
            return Err(invalid(format!(
                "Param recipient_type must be one of {{individual, group}} - got \"{rt}\"."
            )));
        }
    }
    // Meta defaults a missing `type` to text.
    let type_name = opt_str(o, "type", "type")?.unwrap_or("text").to_string();
    if !TYPES.contains(&type_name.as_str()) {
        return Err(GraphFailure::whatsapp(
            131051,
            Some(format!(
                "Param type must be one of {{{}}} - got \"{type_name}\".",
                TYPES.join(", ")
            )),
        ));
    }
    let content = req_obj(o, &type_name, &type_name).or_else(|e| {
        // `contacts` is an array, not an object.
        if type_name == "contacts" {
            Ok(o)
        } else {
            Err(e)
        }
    })?;
    let mut template = None;
    let mut media_id = None;
    match type_name.as_str() {
        "text" => check_text(content)?,
        "template" => template = Some(check_template(content)?),
        "reaction" => {
            req_str(content, "message_id", "reaction['message_id']")?;
            req_str(content, "emoji", "reaction['emoji']")?;
            if o.contains_key("context") {
                return Err(invalid(
                    "Reactions cannot be sent as contextual replies (context).".into(),
                ));
            }
        }
        "interactive" => check_interactive(content)?,
        "location" => check_location(content)?,
        "contacts" => check_contacts(o)?,
        t if MEDIA_TYPES.contains(&t) => media_id = check_media(t, content)?,
        _ => unreachable!("type checked against TYPES"),
    }
    if let Some(ctx) = o.get("context") {
        let ctx = ctx
            .as_object()
            .ok_or_else(|| invalid("Param context must be a JSON object.".into()))?;
        req_str(ctx, "message_id", "context['message_id']")?;
    }
    let biz = opt_str(o, "biz_opaque_callback_data", "biz_opaque_callback_data")?;
    if let Some(b) = biz {
        max_len(b, 512, "biz_opaque_callback_data")?;
    }
    Ok(Request::Send(SendRequest {
        recipient,
        type_name,
        template,
        media_id,
        biz_opaque_callback_data: biz.map(str::to_string),
    }))
}

fn parse_mark_read(o: &Obj) -> Result<Request, GraphFailure> {
    let status = req_str(o, "status", "status")?;
    if status != "read" {
        return Err(invalid(format!(
            "Param status must be 'read', got '{status}'."
        )));
    }
    let message_id = req_str(o, "message_id", "message_id")?.to_string();
    let typing_indicator = match o.get("typing_indicator") {
        None | Some(Value::Null) => false,
        Some(Value::Object(t)) => {
            let kind = req_str(t, "type", "typing_indicator['type']")?;
            if kind != "text" {
                return Err(invalid(format!(
                    "Param typing_indicator['type'] must be 'text', got '{kind}'."
                )));
            }
            true
        }
        Some(_) => {
            return Err(invalid(
                "Param typing_indicator must be a JSON object.".into(),
            ))
        }
    };
    Ok(Request::MarkRead {
        message_id,
        typing_indicator,
    })
}

fn is_bsuid(s: &str) -> bool {
    s.contains('.') && s.chars().any(|c| c.is_ascii_alphabetic())
}

fn parse_recipient(o: &Obj) -> Result<Recipient, GraphFailure> {
    let (raw, path) = match (
        opt_str(o, "to", "to")?,
        opt_str(o, "recipient", "recipient")?,
    ) {
        (Some(to), _) => (to, "to"),
        (None, Some(r)) => (r, "recipient"),
        (None, None) => return Err(missing("to")),
    };
    let raw_trim = raw.trim();
    if is_bsuid(raw_trim) {
        return Ok(Recipient::Bsuid(raw_trim.to_string()));
    }
    let allowed = |c: char| c.is_ascii_digit() || "+-() ".contains(c);
    let wa_id = normalise_recipient(raw_trim);
    if raw_trim.is_empty() || !raw_trim.chars().all(allowed) || !(5..=20).contains(&wa_id.len()) {
        return Err(invalid(format!(
            "Param {path} must be a valid phone number or business-scoped user id, got '{raw}'."
        )));
    }
    Ok(Recipient::Phone {
        input: raw.to_string(),
        wa_id,
    })
}

fn check_text(t: &Obj) -> Result<(), GraphFailure> {
    let body = req_str(t, "body", "text['body']")?;
    if body.trim().is_empty() {
        return Err(invalid("Param text['body'] must be non-empty.".into()));
    }
    max_len(body, 4096, "text['body']")?;
    match t.get("preview_url") {
        None | Some(Value::Null) | Some(Value::Bool(_)) => Ok(()),
        Some(_) => Err(invalid(
            "Param text['preview_url'] must be a boolean.".into(),
        )),
    }
}

fn check_template(t: &Obj) -> Result<TemplateRef, GraphFailure> {
    let name = req_str(t, "name", "template['name']")?.to_string();
    let language = req_obj(t, "language", "template['language']")?;
    let code = req_str(language, "code", "template['language']['code']")?.to_string();
    let mut body_params = 0;
    let mut header_params = 0;
    let mut header = Vec::new();
    for (i, c) in opt_array(t, "components", "template['components']")?
        .iter()
        .enumerate()
    {
        let path = format!("template['components'][{i}]");
        let c = c
            .as_object()
            .ok_or_else(|| invalid(format!("Param {path} must be a JSON object.")))?;
        let kind = req_str(c, "type", &format!("{path}['type']"))?.to_ascii_lowercase();
        let params = opt_array(c, "parameters", &format!("{path}['parameters']"))?;
        let n = params.len();
        match kind.as_str() {
            "body" => {
                for (j, p) in params.iter().enumerate() {
                    check_param(p, &format!("{path}['parameters'][{j}]"))?;
                }
                body_params += n
            }
            "header" => {
                for (j, p) in params.iter().enumerate() {
                    header.push(check_param(p, &format!("{path}['parameters'][{j}]"))?);
                }
                header_params += n
            }
            "button" => {
                req_str(c, "sub_type", &format!("{path}['sub_type']"))?;
            }
            "footer" | "carousel" | "limited_time_offer" => {}
            other => {
                return Err(invalid(format!(
                    "Param {path}['type'] must be one of {{header, body, button, footer, carousel}} - got \"{other}\"."
                )))
            }
        }
    }
    Ok(TemplateRef {
        name,
        language: code,
        body_params,
        header_params,
        header,
    })
}

fn check_media(kind: &str, m: &Obj) -> Result<Option<String>, GraphFailure> {
    let id = opt_str(m, "id", &format!("{kind}['id']"))?;
    let link = opt_str(m, "link", &format!("{kind}['link']"))?;
    match (id, link) {
        (None, None) => Err(GraphFailure::missing_param(format!(
            "The parameter {kind}['id'] or {kind}['link'] is required."
        ))),
        (Some(_), Some(_)) => Err(invalid(format!(
            "Param {kind} must contain exactly one of id or link, not both."
        ))),
        (Some(id), None) => {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(format!(
                    "Param {kind}['id'] must be a valid media id."
                )));
            }
            check_caption(kind, m)?;
            Ok(Some(id.to_string()))
        }
        (None, Some(link)) => {
            if !(link.starts_with("https://") || link.starts_with("http://")) {
                return Err(invalid(format!(
                    "Param {kind}['link'] must be an http(s) URL."
                )));
            }
            check_caption(kind, m)?;
            Ok(None)
        }
    }
}

fn check_caption(kind: &str, m: &Obj) -> Result<(), GraphFailure> {
    if let Some(c) = opt_str(m, "caption", &format!("{kind}['caption']"))? {
        if kind == "audio" || kind == "sticker" {
            return Err(invalid(format!(
                "Param {kind}['caption'] is not supported for {kind}."
            )));
        }
        max_len(c, 1024, &format!("{kind}['caption']"))?;
    }
    Ok(())
}

fn check_interactive(i: &Obj) -> Result<(), GraphFailure> {
    let kind = req_str(i, "type", "interactive['type']")?;
    if !INTERACTIVE_TYPES.contains(&kind) {
        return Err(invalid(format!(
            "Param interactive['type'] must be one of {{{}}} - got \"{kind}\".",
            INTERACTIVE_TYPES.join(", ")
        )));
    }
    if kind != "button" && kind != "list" {
        return Ok(());
    }
    let body = req_obj(i, "body", "interactive['body']")?;
    let text = req_str(body, "text", "interactive['body']['text']")?;
    max_len(
        text,
        if kind == "button" { 1024 } else { 4096 },
        "interactive['body']['text']",
    )?;
    if let Some(f) = i.get("footer").and_then(Value::as_object) {
        if let Some(t) = opt_str(f, "text", "interactive['footer']['text']")? {
            max_len(t, 60, "interactive['footer']['text']")?;
        }
    }
    let action = req_obj(i, "action", "interactive['action']")?;
    if kind == "button" {
        let buttons = opt_array(action, "buttons", "interactive['action']['buttons']")?;
        if buttons.is_empty() {
            return Err(missing("interactive['action']['buttons']"));
        }
        if buttons.len() > 3 {
            return Err(invalid(
                "Param interactive['action']['buttons'] must have at most 3 elements.".into(),
            ));
        }
        let mut titles = Vec::new();
        for (n, b) in buttons.iter().enumerate() {
            let path = format!("interactive['action']['buttons'][{n}]");
            let b = b
                .as_object()
                .ok_or_else(|| invalid(format!("Param {path} must be a JSON object.")))?;
            let reply = req_obj(b, "reply", &format!("{path}['reply']"))?;
            let id = req_str(reply, "id", &format!("{path}['reply']['id']"))?;
            max_len(id, 256, &format!("{path}['reply']['id']"))?;
            let title = req_str(reply, "title", &format!("{path}['reply']['title']"))?;
            max_len(title, 20, &format!("{path}['reply']['title']"))?;
            if titles.contains(&title) {
                return Err(invalid(format!(
                    "Param {path}['reply']['title'] must be unique."
                )));
            }
            titles.push(title);
        }
    } else {
        let button = req_str(action, "button", "interactive['action']['button']")?;
        max_len(button, 20, "interactive['action']['button']")?;
        let sections = opt_array(action, "sections", "interactive['action']['sections']")?;
        if sections.is_empty() {
            return Err(missing("interactive['action']['sections']"));
        }
        if sections.len() > 10 {
            return Err(invalid(
                "Param interactive['action']['sections'] must have at most 10 elements.".into(),
            ));
        }
        let mut rows_total = 0;
        for (s, section) in sections.iter().enumerate() {
            let path = format!("interactive['action']['sections'][{s}]");
            let section = section
                .as_object()
                .ok_or_else(|| invalid(format!("Param {path} must be a JSON object.")))?;
            if let Some(t) = opt_str(section, "title", &format!("{path}['title']"))? {
                max_len(t, 24, &format!("{path}['title']"))?;
            }
            for (r, row) in opt_array(section, "rows", &format!("{path}['rows']"))?
                .iter()
                .enumerate()
            {
                rows_total += 1;
                let rpath = format!("{path}['rows'][{r}]");
                let row = row
                    .as_object()
                    .ok_or_else(|| invalid(format!("Param {rpath} must be a JSON object.")))?;
                max_len(
                    req_str(row, "id", &format!("{rpath}['id']"))?,
                    200,
                    &format!("{rpath}['id']"),
                )?;
                max_len(
                    req_str(row, "title", &format!("{rpath}['title']"))?,
                    24,
                    &format!("{rpath}['title']"),
                )?;
                if let Some(d) = opt_str(row, "description", &format!("{rpath}['description']"))? {
                    max_len(d, 72, &format!("{rpath}['description']"))?;
                }
            }
        }
        if rows_total == 0 {
            return Err(missing("interactive['action']['sections'][0]['rows']"));
        }
        if rows_total > 10 {
            return Err(invalid(
                "Param interactive['action']['sections'] must have at most 10 rows in total."
                    .into(),
            ));
        }
    }
    Ok(())
}

fn check_location(l: &Obj) -> Result<(), GraphFailure> {
    for key in ["latitude", "longitude"] {
        match l.get(key) {
            None | Some(Value::Null) => return Err(missing(&format!("location['{key}']"))),
            Some(Value::Number(_)) => {}
            Some(Value::String(s)) if s.parse::<f64>().is_ok() => {}
            Some(_) => {
                return Err(invalid(format!(
                    "Param location['{key}'] must be a number."
                )))
            }
        }
    }
    Ok(())
}

fn check_contacts(o: &Obj) -> Result<(), GraphFailure> {
    let cards = match o.get("contacts") {
        None | Some(Value::Null) => return Err(missing("contacts")),
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(_) => return Err(invalid("Param contacts must be a non-empty array.".into())),
    };
    for (i, card) in cards.iter().enumerate() {
        let path = format!("contacts[{i}]");
        let card = card
            .as_object()
            .ok_or_else(|| invalid(format!("Param {path} must be a JSON object.")))?;
        let name = req_obj(card, "name", &format!("{path}['name']"))?;
        req_str(
            name,
            "formatted_name",
            &format!("{path}['name']['formatted_name']"),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(v: Value) -> (i64, String) {
        let e = parse(&v).unwrap_err();
        (e.code(), e.envelope.error.details().unwrap_or_default())
    }

    #[test]
    fn text_send_is_valid() {
        let r = parse(
            &json!({"messaging_product": "whatsapp", "to": "+49 151 1234567",
            "type": "text", "text": {"body": "Hallo"}, "biz_opaque_callback_data": "x"}),
        )
        .unwrap();
        let Request::Send(s) = r else { panic!() };
        assert_eq!(
            s.recipient,
            Recipient::Phone {
                input: "+49 151 1234567".into(),
                wa_id: "491511234567".into()
            }
        );
        assert_eq!(s.biz_opaque_callback_data.as_deref(), Some("x"));
    }

    #[test]
    fn field_errors_name_the_field() {
        let (c, d) = code(
            json!({"messaging_product": "whatsapp", "to": "1555123", "type": "text", "text": {}}),
        );
        assert_eq!(c, 131008);
        assert!(d.contains("text['body']"), "{d}");
        let (c, d) = code(
            json!({"messaging_product": "whatsapp", "to": "1555123", "type": "text", "text": {"body": ""}}),
        );
        assert_eq!(c, 100);
        assert!(d.contains("text['body']"));
        let long = "x".repeat(4097);
        assert_eq!(
            code(json!({"messaging_product": "whatsapp", "to": "1555123", "text": {"body": long}}))
                .0,
            100
        );
        assert_eq!(
            code(json!({"messaging_product": "sms", "to": "1555123", "text": {"body": "x"}})).0,
            100
        );
        assert_eq!(
            code(json!({"to": "1555123", "text": {"body": "x"}})).0,
            131008
        );
        let (c, d) =
            code(json!({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}));
        assert_eq!((c, d.contains("to")), (131008, true));
        assert_eq!(
            code(json!({"messaging_product": "whatsapp", "to": "abc", "text": {"body": "x"}})).0,
            100
        );
        let (c, d) = code(
            json!({"messaging_product": "whatsapp", "to": "1555123", "type": "image", "image": {"id": "1", "link": "https://x"}}),
        );
        assert_eq!(c, 100);
        assert!(d.contains("image"));
        assert_eq!(code(json!({"messaging_product": "whatsapp", "to": "1555123", "type": "image", "image": {}})).0, 131008);
        assert_eq!(code(json!({"messaging_product": "whatsapp", "to": "1555123", "type": "poll", "poll": {}})).0, 131051);
        assert_eq!(code(json!({"messaging_product": "whatsapp", "to": "1555123", "type": "template", "template": {"name": "x"}})).0, 131008);
    }

    #[test]
    fn template_params_are_counted() {
        let r = parse(&json!({"messaging_product": "whatsapp", "to": "1555123", "type": "template",
            "template": {"name": "order_update", "language": {"code": "de"}, "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "42"}]},
                {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "P"}]}
            ]}}))
        .unwrap();
        let Request::Send(s) = r else { panic!() };
        let t = s.template.unwrap();
        assert_eq!(
            (t.name.as_str(), t.language.as_str(), t.body_params),
            ("order_update", "de", 2)
        );
    }

    #[test]
    fn mark_read_and_bsuid_and_interactive() {
        assert_eq!(
            parse(
                &json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.A",
                "typing_indicator": {"type": "text"}})
            )
            .unwrap(),
            Request::MarkRead {
                message_id: "wamid.A".into(),
                typing_indicator: true
            }
        );
        let Request::Send(s) = parse(
            &json!({"messaging_product": "whatsapp", "recipient": "DE.123",
            "type": "text", "text": {"body": "x"}}),
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(s.recipient, Recipient::Bsuid("DE.123".into()));
        let buttons: Vec<Value> = (0..4).map(|i| json!({"type": "reply", "reply": {"id": i.to_string(), "title": format!("B{i}")}})).collect();
        assert_eq!(code(json!({"messaging_product": "whatsapp", "to": "1555123", "type": "interactive",
            "interactive": {"type": "button", "body": {"text": "?"}, "action": {"buttons": buttons}}})).0, 100);
        assert!(parse(&json!({"messaging_product": "whatsapp", "to": "1555123", "type": "interactive",
            "interactive": {"type": "button", "body": {"text": "?"}, "action": {"buttons": [buttons[0]]}}})).is_ok());
        assert!(parse(
            &json!({"messaging_product": "whatsapp", "to": "1555123", "type": "contacts",
            "contacts": [{"name": {"formatted_name": "A"}}]})
        )
        .is_ok());
        assert_eq!(
            code(
                json!({"messaging_product": "whatsapp", "to": "1555123", "type": "location",
            "location": {"latitude": 1.0}})
            )
            .0,
            131008
        );
    }
}
