//! Template text placeholders as WhatsApp reads them (`{{1}}` positional, `{{first_name}}`
//! named): counted to know how many parameters a send must carry, filled to show or check the
//! text a customer will read. Shared by the relay (validation, previews) and the simulator.

/// `text` with its placeholders filled in: positional `{{n}}` by `params[n - 1]`, named ones
/// (`{{first_name}}`) by `params` in order of first appearance. A placeholder without a parameter
/// stays as it is.
pub fn fill(text: &str, params: &[String]) -> String {
    let mut names: Vec<&str> = Vec::new();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        out.push_str(&rest[..start]);
        if name.is_empty() {
            out.push_str(&rest[start..start + 2 + end + 2]);
        } else {
            let i = match name.parse::<usize>() {
                Ok(n) => n.wrapping_sub(1),
                Err(_) => names.iter().position(|n| *n == name).unwrap_or_else(|| {
                    names.push(name);
                    names.len() - 1
                }),
            };
            match params.get(i) {
                Some(p) => out.push_str(p),
                None => out.push_str(&rest[start..start + 2 + end + 2]),
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_counted_once() {
        assert_eq!(count_placeholders("Hi {{1}}, order {{2}}; again {{1}}"), 2);
        assert_eq!(count_placeholders("no params"), 0);
        assert_eq!(count_placeholders("{{first_name}} {{ 1 }} {{"), 2);
    }

    #[test]
    fn filling_uses_positions_and_names_and_keeps_what_is_missing() {
        let p = vec!["Anna".to_string(), "42".to_string()];
        assert_eq!(
            fill("Hallo {{1}}, Bestellung {{2}}", &p),
            "Hallo Anna, Bestellung 42"
        );
        assert_eq!(
            fill("{{name}} / {{order}} / {{name}}", &p),
            "Anna / 42 / Anna"
        );
        assert_eq!(fill("{{3}} bleibt", &p), "{{3}} bleibt");
    }
}
