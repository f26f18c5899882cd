//! Customer tags: normalised, limited, and the routing inputs they feed (skills, priority).

#[allow(unused_imports)]
use super::*;
use switchboard_protocol::rules;

/// Longest tag and most tags per customer.
pub const MAX_TAG_CHARS: usize = 40;
pub const MAX_TAGS: usize = 30;

/// Checks and normalises tags: trimmed, lower-case, letters, digits, `-`, `_`, `.` and inner
/// spaces; duplicates folded.
pub fn normalize_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    if tags.len() > MAX_TAGS {
        return Err(StoreError::Invalid(format!(
            "a customer can carry at most {MAX_TAGS} tags"
        )));
    }
    for raw in tags {
        if raw.trim().is_empty() {
            return Err(StoreError::Invalid("a tag must not be empty".into()));
        }
        if raw.chars().count() > MAX_TAG_CHARS {
            return Err(StoreError::Invalid(format!(
                "tag {raw:?} is longer than {MAX_TAG_CHARS} characters"
            )));
        }
        // The rule the OpenAPI document publishes, on the tag as sent.
        if !rules::fits(rules::TAG, raw) {
            let bad = raw
                .chars()
                .find(|c| !rules::fits(rules::TAG, &c.to_string()) && *c != ' ')
                .unwrap_or(' ');
            return Err(StoreError::Invalid(format!(
                "tag {raw:?} contains {bad:?}: use letters, digits, '-', '_', '.' and spaces"
            )));
        }
        let t = raw.trim().to_lowercase();
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(StoreError::Invalid(format!(
            "a customer can carry at most {MAX_TAGS} tags"
        )));
    }
    out.sort();
    Ok(out)
}

/// Replaces a customer's tags; their waiting conversations move in the queue accordingly, and
/// everyone who sees one of their conversations gets the contact's new snapshot.
pub fn put_contact_tags(ctx: &mut WriteCtx<'_>, contact: i64, tags: &[String]) -> Result<()> {
    crate::store::queries::contact(ctx.conn, contact)?;
    let tags = normalize_tags(tags)?;
    ctx.conn
        .exec("DELETE FROM contact_tags WHERE contact_id = ?1", [contact])?;
    for t in &tags {
        ctx.conn.exec(
            "INSERT INTO contact_tags (contact_id, tag) VALUES (?1, ?2)",
            params![contact, t],
        )?;
    }
    // Clients keep the newest contact snapshot by updated_at.
    ctx.conn.exec(
        "UPDATE contacts SET updated_at = CASE WHEN updated_at >= ?2 THEN updated_at + 1 ELSE ?2 END WHERE id = ?1",
        params![contact, ctx.now],
    )?;
    crate::store::queries::emit_contact(ctx, contact)?;
    let tags = contact_tags(ctx.conn, contact)?;
    let convs: Vec<(i64, String)> = {
        let mut stmt = ctx.conn.prepare(
            "SELECT id, phone_number_id FROM conversations WHERE contact_id = ?1 AND queued_at IS NOT NULL AND assignee_id IS NULL",
        )?;
        let rows = stmt.query_map([contact], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<crate::store::db::Result<_>>()?
    };
    for (id, pnid) in convs {
        let (p, _) = policy(ctx.conn, &pnid)?;
        ctx.conn.exec(
            "UPDATE conversations SET priority = ?2 WHERE id = ?1",
            params![id, p.priority(&tags)],
        )?;
    }
    drain(ctx)?;
    Ok(())
}
