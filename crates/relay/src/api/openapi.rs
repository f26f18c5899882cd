//! Finishing the generated OpenAPI document: what `utoipa`'s annotations cannot say, added from
//! the same tables the relay checks requests with, so the document and the behaviour agree.
//!
//! - every request body refuses unknown fields (`additionalProperties: false`, as the relay's
//!   types do with `deny_unknown_fields`), also inside the variants of a tagged body;
//! - the text rules of [`switchboard_protocol::rules`] as `pattern`s on the fields the relay
//!   checks with them ([`FIELD_RULES`]);
//! - fields that must be present although they may be `null` ([`REQUIRED`]).

use serde_json::{json, Value};
use switchboard_protocol::rules;

pub use super::openapi_tables::*;

/// The finished document, as served.
pub fn finish(spec: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(spec).expect("the document serialises");
    unique_operation_ids(&mut doc);
    close_request_bodies(&mut doc);
    for (schema, field, pattern) in FIELD_RULES {
        let target = field_schema(&mut doc, schema, field).unwrap_or_else(|| {
            panic!("FIELD_RULES names {schema}.{field}, which the document lacks")
        });
        match field.strip_suffix("{}") {
            Some(_) => target["propertyNames"] = json!({ "pattern": pattern }),
            None => target["pattern"] = json!(pattern),
        }
    }
    for (schema, field, key, value) in FIELD_FACTS {
        let target = field_schema(&mut doc, schema, field).unwrap_or_else(|| {
            panic!("FIELD_FACTS names {schema}.{field}, which the document lacks")
        });
        target[*key] = json!(value);
    }
    for (_, _, op) in operations_mut(&mut doc) {
        let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for p in params {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            if p["in"] == "path" && META_ID_PATH_PARAMS.contains(&name.as_str()) {
                p["schema"]["pattern"] = json!(rules::META_ID);
            }
            if p["in"] == "header" && name == "Idempotency-Key" {
                p["schema"]["pattern"] = json!(rules::IDEMPOTENCY_KEY);
            }
        }
    }
    add_links(&mut doc);
    for (schema, field) in REQUIRED {
        let s = &mut doc["components"]["schemas"][*schema];
        assert!(
            s["properties"].get(*field).is_some(),
            "REQUIRED names {schema}.{field}"
        );
        let required = s["required"].as_array_mut();
        match required {
            Some(list) if list.iter().any(|f| f == field) => {}
            Some(list) => list.push(json!(field)),
            None => s["required"] = json!([field]),
        }
    }
    doc
}

/// Every operation of the document: `(path, method, operation)`.
fn operations(doc: &Value) -> impl Iterator<Item = (&String, &String, &Value)> {
    doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .map(move |(method, op)| (path, method, op))
        })
}

/// Every operation of the document, to change: `(path, method, operation)`.
fn operations_mut(doc: &mut Value) -> impl Iterator<Item = (&String, &String, &mut Value)> {
    doc["paths"]
        .as_object_mut()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            item.as_object_mut()
                .into_iter()
                .flatten()
                .map(move |(method, op)| (&*path, method, op))
        })
}

fn operation_id(op: &Value) -> Option<&str> {
    op.get("operationId").and_then(Value::as_str)
}

/// Operation ids come from the handlers' names, which repeat across modules (`list`); OpenAPI
/// wants them unique, so a repeated one becomes `<method>_<path>` (`get_api_v1_conversations`).
fn unique_operation_ids(doc: &mut Value) {
    let mut count = std::collections::HashMap::<String, usize>::new();
    for id in operations(doc).filter_map(|(_, _, op)| operation_id(op)) {
        *count.entry(id.to_string()).or_default() += 1;
    }
    for (path, method, op) in operations_mut(doc) {
        if operation_id(op).is_some_and(|id| count[id] > 1) {
            let slug = path
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("_");
            op["operationId"] = json!(format!("{method}_{slug}"));
        }
    }
}

fn add_links(doc: &mut Value) {
    let ids: std::collections::BTreeSet<String> = operations(doc)
        .filter_map(|(_, _, op)| operation_id(op).map(String::from))
        .collect();
    for (from, status, to, params) in LINKS {
        assert!(
            ids.contains(*to),
            "LINKS names the operation {to}, which the document lacks"
        );
        let (_, _, op) = operations_mut(doc)
            .find(|(_, _, op)| operation_id(op) == Some(*from))
            .unwrap_or_else(|| {
                panic!("LINKS names the operation {from}, which the document lacks")
            });
        let response = op["responses"]
            .get_mut(*status)
            .unwrap_or_else(|| panic!("LINKS names {from}'s {status}, which it does not answer"));
        let parameters: serde_json::Map<String, Value> = params
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        response["links"][*to] = json!({ "operationId": to, "parameters": parameters });
    }
}

/// The schema of `schema.field` (`field[]`: of its items; `field{}`: the map itself), looking
/// through `oneOf`/`anyOf` wrappers such as a nullable field's.
fn field_schema<'a>(doc: &'a mut Value, schema: &str, field: &str) -> Option<&'a mut Value> {
    let (name, items) = match field.strip_suffix("[]") {
        Some(n) => (n, true),
        None => (field.strip_suffix("{}").unwrap_or(field), false),
    };
    let mut s = doc
        .get_mut("components")?
        .get_mut("schemas")?
        .get_mut(schema)?
        .get_mut("properties")?
        .get_mut(name)?;
    if items {
        s = s.get_mut("items")?;
    }
    // `Option<String>` is written as `type: ["string", "null"]` or as `oneOf: [null, {...}]`.
    if s.get("type").is_none() && s.get("oneOf").is_some() {
        let idx = s["oneOf"]
            .as_array()?
            .iter()
            .position(|v| v.get("type") != Some(&json!("null")))?;
        s = &mut s["oneOf"][idx];
    }
    Some(s)
}

/// Sets `additionalProperties: false` on every object schema a request body reaches.
fn close_request_bodies(doc: &mut Value) {
    let mut names: Vec<String> = Vec::new();
    let mut inline: Vec<(String, String)> = Vec::new();
    for (path, method, op) in operations(doc) {
        if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
            collect_refs(schema, &mut names);
            inline.push((path.clone(), method.clone()));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = names.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(s) = doc["components"]["schemas"].get(&name) {
            collect_refs(s, &mut names);
        }
    }
    // A schema that a response extends (`allOf`, from `#[serde(flatten)]`) cannot be closed
    // there: the response's own fields would be "additional". The response gets an open twin.
    let mut extended = Vec::new();
    collect_all_of_refs(doc, &mut extended);
    for name in extended.iter().filter(|n| seen.contains(*n)) {
        let twin = format!("{name}Fields");
        let mut open = doc["components"]["schemas"][name].clone();
        // utoipa closes a `deny_unknown_fields` type itself; the twin is the open one.
        if let Some(m) = open.as_object_mut() {
            m.remove("additionalProperties");
        }
        doc["components"]["schemas"][&twin] = open;
        rewrite_all_of_refs(doc, name, &twin);
    }
    for name in seen {
        if let Some(s) = doc["components"]["schemas"].get_mut(&name) {
            close(s);
        }
    }
    for (path, method) in inline {
        if let Some(s) = doc["paths"][&path][&method]
            .pointer_mut("/requestBody/content/application~1json/schema")
        {
            close(s);
        }
    }
}

fn collect_all_of_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(items)) = map.get("allOf") {
                for item in items {
                    if let Some(name) = item["$ref"]
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    {
                        out.push(name.to_string());
                    }
                }
            }
            map.values().for_each(|v| collect_all_of_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_all_of_refs(v, out)),
        _ => {}
    }
}

fn rewrite_all_of_refs(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(items)) = map.get_mut("allOf") {
                for item in items.iter_mut() {
                    if item["$ref"] == json!(format!("#/components/schemas/{from}")) {
                        item["$ref"] = json!(format!("#/components/schemas/{to}"));
                    }
                }
            }
            map.values_mut()
                .for_each(|v| rewrite_all_of_refs(v, from, to));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| rewrite_all_of_refs(v, from, to)),
        _ => {}
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                if let Some(name) = r.strip_prefix("#/components/schemas/") {
                    out.push(name.to_string());
                }
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Closes this schema's objects, not those behind a `$ref` (they are closed by name).
fn close(v: &mut Value) {
    if let Value::Object(map) = v {
        if map.contains_key("properties") && !map.contains_key("additionalProperties") {
            map.insert("additionalProperties".into(), Value::Bool(false));
        }
        for key in ["properties"] {
            if let Some(Value::Object(props)) = map.get_mut(key) {
                props.values_mut().for_each(close);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(inner) = map.get_mut(key) {
                close(inner);
            }
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            if let Some(Value::Array(items)) = map.get_mut(key) {
                items.iter_mut().for_each(close);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_in_the_document_is_a_rule_the_relay_checks() {
        let spec = crate::api::openapi_document();
        let mut found = Vec::new();
        fn walk(v: &Value, found: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(p)) = m.get("pattern") {
                        found.push(p.clone());
                    }
                    m.values().for_each(|v| walk(v, found));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, found)),
                _ => {}
            }
        }
        walk(&spec, &mut found);
        assert!(found.len() >= FIELD_RULES.len());
        for p in found {
            assert!(
                rules::ALL.contains(&p.as_str()) || regex::Regex::new(&p).is_ok(),
                "{p}"
            );
        }
        // A body with an unknown field is refused, and the document says so.
        assert_eq!(
            spec["components"]["schemas"]["NewUser"]["additionalProperties"],
            json!(false)
        );
    }
}
