//! Automations on inbound messages: keyword auto-replies and away messages, applied in the same
//! write job as the webhook that brought the message (so the reply is queued durably with it and
//! goes out without a second round trip), through the same outbox and policy as agent replies.

use crate::store::db::params;
use switchboard_protocol::api::SendRequest;

use super::outbox::{self, Actor, SendOptions};
use super::queries::emit_conversation;
use super::{policy as sql, Result, WriteCtx};
use crate::policy::{hours, Compiled, Origin};

/// A freshly stored inbound message.
#[derive(Debug, Clone)]
pub struct InboundFact {
    pub conversation_id: i64,
    pub phone_number_id: String,
    pub wa_id: Option<String>,
    pub text: String,
    pub answerable: bool,
    /// This message opened or reopened the conversation (it is routed to an agent).
    pub opened: bool,
    /// This message created the conversation (no agent has seen it before this job).
    pub created: bool,
}

/// What the automations queued.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Queued {
    pub auto_replies: usize,
    pub away: usize,
    /// Automatic replies the policy refused (e.g. a blocked word in a rule's reply).
    pub refused: usize,
}

fn send_system(
    ctx: &mut WriteCtx<'_>,
    compiled: &Compiled,
    conv: i64,
    origin: Origin,
    req: &SendRequest,
) -> Result<bool> {
    let out = outbox::enqueue(
        ctx,
        Actor::System(origin),
        conv,
        req,
        SendOptions::default(),
        compiled,
        |to, is_bsuid, reply| crate::graph::send_payload(req, to, is_bsuid, reply),
    )?;
    match out {
        Ok(_) => Ok(true),
        Err(refusal) => {
            tracing::info!(conversation_id = conv, origin = origin.as_str(), code = %refusal.code, "automatic reply refused by the outbound policy");
            Ok(false)
        }
    }
}

/// Runs the automations of `fact`'s number at `ctx.now`.
pub fn on_inbound(
    ctx: &mut WriteCtx<'_>,
    compiled: &Compiled,
    fact: &InboundFact,
) -> Result<Queued> {
    let mut q = Queued::default();
    if !fact.answerable {
        return Ok(q);
    }
    let conv = fact.conversation_id;
    let mut handoff = true;
    if let Some(rules) = compiled.rules.get(&fact.phone_number_id) {
        let now = ctx.now;
        let mut lookup_err = None;
        let conn = ctx.conn;
        let chosen = rules.compiled.choose(&fact.text, now, |rule_id| {
            match sql::rule_last_sent(conn, rule_id, conv) {
                Ok(v) => v,
                Err(e) => {
                    lookup_err = Some(e);
                    None
                }
            }
        });
        if let Some(e) = lookup_err {
            return Err(e);
        }
        if let Some(rule) = chosen {
            let rule_id = rule.id;
            if let Some(action) = rules.actions.get(&rule_id) {
                let action = action.clone();
                if send_system(ctx, compiled, conv, Origin::AutoReply, &action.reply)? {
                    sql::note_rule_sent(ctx.conn, rule_id, conv, now)?;
                    q.auto_replies += 1;
                    if !action.handoff {
                        handoff = false;
                        // Answered by the bot: the conversation leaves the agents' open queue.
                        let before: Option<i64> = ctx.conn.query_row(
                            "SELECT assignee_id FROM conversations WHERE id = ?1",
                            [conv],
                            |r| r.get(0),
                        )?;
                        ctx.conn.execute(
                            "UPDATE conversations SET status = 'resolved', unread_count = 0, updated_at = ?2 WHERE id = ?1",
                            params![conv, now],
                        )?;
                        emit_conversation(ctx, conv, Some(before))?;
                    }
                } else {
                    q.refused += 1;
                }
            }
        }
    }
    if handoff {
        // Team hours win over the number's for a conversation that belongs to a team.
        let team = if compiled.team_hours.is_empty() {
            None
        } else {
            sql::conversation_team(ctx.conn, conv)?
        };
        if let Some(h) = compiled.hours_for(&fact.phone_number_id, team) {
            let period = h.settings.away_period_minutes * 60_000;
            let due = match sql::away_last_sent(ctx.conn, conv)? {
                Some(at) => ctx.now - at >= period,
                None => true,
            };
            if due {
                let lang = hours::customer_language(
                    fact.wa_id.as_deref(),
                    &fact.text,
                    &h.settings.default_language,
                );
                if let Some(text) = h.away_text(ctx.now, &lang) {
                    let req = SendRequest::Text {
                        text,
                        preview_url: false,
                        reply_to: None,
                    };
                    if send_system(ctx, compiled, conv, Origin::Away, &req)? {
                        sql::note_away_sent(ctx.conn, conv, ctx.now)?;
                        q.away += 1;
                    } else {
                        q.refused += 1;
                    }
                }
            }
        }
    }
    Ok(q)
}
