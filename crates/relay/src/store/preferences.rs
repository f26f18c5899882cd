//! Customers' preferences (`user_preferences` webhooks): a customer stops or resumes marketing
//! messages. The latest choice is kept on the customer (`contacts.marketing_pref`, with when it
//! was made; an older choice arriving late changes nothing) and goes out as `contact.updated`,
//! so the customer panel shows it and campaigns can leave out those who stopped. A preference of
//! a customer who never wrote creates their record, so the choice is not lost. Categories and
//! values this relay does not know are recorded as account events, not dropped.

use switchboard_protocol::webhook::PreferencesValue;

use super::{Result, WriteCtx};

pub fn apply(ctx: &mut WriteCtx<'_>, v: &PreferencesValue) -> Result<()> {
    for p in &v.preferences {
        let known =
            p.category == "marketing_messages" && matches!(p.value.as_str(), "stop" | "resume");
        if !known || (p.wa_id.is_none() && p.user_id.is_none()) {
            super::ingest::record_account_event(
                ctx,
                v.phone_number_id.as_deref(),
                "user_preferences",
                &serde_json::json!({
                    "wa_id": p.wa_id, "user_id": p.user_id, "category": p.category,
                    "value": p.value, "detail": p.detail, "timestamp": p.timestamp,
                }),
            )?;
            continue;
        }
        let profile = v.contacts.iter().find(|c| {
            (c.wa_id.is_some() && c.wa_id == p.wa_id)
                || (c.user_id.is_some() && c.user_id == p.user_id)
        });
        let contact = super::ingest::upsert_contact(
            ctx,
            p.wa_id.as_deref(),
            p.user_id.as_deref(),
            profile.and_then(|c| c.name()),
            profile.and_then(|c| c.username()),
        )?;
        super::contacts::set_marketing(ctx, contact, &p.value, p.timestamp.saturating_mul(1000))?;
    }
    Ok(())
}
