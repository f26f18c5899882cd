//! Supervisor and routing-admin commands: the waiting queue, an agent's report, escalation
//! alerts from the local cache, and routing settings (teams, skills, agents' capacities and
//! skills, per-number policies, business hours, send rates, the template sync). Each is one call
//! of the sync engine; the relay decides what the signed-in person may do.

use serde::Serialize;
use switchboard_protocol::policy::{BusinessHours, NumberRate, RateSettings, SyncResult};
use switchboard_protocol::routing::{
    AgentReport, AgentSettings, NewTeam, Policy, QueuedConversation, Settings, Skills, Team,
};
use switchboard_sync::cache::alerts::Alert;
use tauri::State;

use crate::error::UiResult;
use crate::App;

#[tauri::command]
pub async fn waiting_queue(app: State<'_, App>) -> UiResult<Vec<QueuedConversation>> {
    Ok(app.engine()?.client().await.waiting_queue().await?)
}

#[tauri::command]
pub async fn agent_report(app: State<'_, App>, id: i64, days: i64) -> UiResult<AgentReport> {
    Ok(app.engine()?.client().await.agent_report(id, days).await?)
}

/// The alert list and the badge.
#[derive(Serialize)]
pub struct Alerts {
    pub items: Vec<Alert>,
    pub unseen: i64,
}

#[tauri::command]
pub async fn alerts(app: State<'_, App>) -> UiResult<Alerts> {
    let engine = app.engine()?;
    Ok(Alerts {
        items: engine.cache().alerts(100)?,
        unseen: engine.cache().unseen_alerts()?,
    })
}

#[tauri::command]
pub async fn mark_alerts_seen(app: State<'_, App>, up_to: i64) -> UiResult<i64> {
    let engine = app.engine()?;
    engine.cache().mark_alerts_seen(up_to)?;
    Ok(engine.cache().unseen_alerts()?)
}

#[tauri::command]
pub async fn routing_settings(app: State<'_, App>) -> UiResult<Settings> {
    Ok(app.engine()?.client().await.routing_settings().await?)
}

#[tauri::command]
pub async fn put_routing_settings(app: State<'_, App>, settings: Settings) -> UiResult<Settings> {
    Ok(app
        .engine()?
        .client()
        .await
        .put_routing_settings(&settings)
        .await?)
}

#[tauri::command]
pub async fn skills(app: State<'_, App>) -> UiResult<Skills> {
    Ok(app.engine()?.client().await.skills().await?)
}

#[tauri::command]
pub async fn put_skills(app: State<'_, App>, skills: Skills) -> UiResult<Skills> {
    Ok(app.engine()?.client().await.put_skills(&skills).await?)
}

#[tauri::command]
pub async fn teams(app: State<'_, App>) -> UiResult<Vec<Team>> {
    Ok(app.engine()?.client().await.teams().await?)
}

#[tauri::command]
pub async fn create_team(app: State<'_, App>, team: NewTeam) -> UiResult<Team> {
    Ok(app.engine()?.client().await.create_team(&team).await?)
}

#[tauri::command]
pub async fn put_team(app: State<'_, App>, id: i64, team: NewTeam) -> UiResult<Team> {
    Ok(app.engine()?.client().await.put_team(id, &team).await?)
}

#[tauri::command]
pub async fn delete_team(app: State<'_, App>, id: i64) -> UiResult<()> {
    Ok(app.engine()?.client().await.delete_team(id).await?)
}

#[tauri::command]
pub async fn agent_routing(app: State<'_, App>, id: i64) -> UiResult<AgentSettings> {
    Ok(app.engine()?.client().await.agent_routing(id).await?)
}

#[tauri::command]
pub async fn put_agent_routing(
    app: State<'_, App>,
    id: i64,
    settings: AgentSettings,
) -> UiResult<AgentSettings> {
    Ok(app
        .engine()?
        .client()
        .await
        .put_agent_routing(id, &settings)
        .await?)
}

#[tauri::command]
pub async fn number_policy(app: State<'_, App>, pnid: String) -> UiResult<Policy> {
    Ok(app.engine()?.client().await.number_policy(&pnid).await?)
}

#[tauri::command]
pub async fn put_number_policy(
    app: State<'_, App>,
    pnid: String,
    policy: Policy,
) -> UiResult<Policy> {
    Ok(app
        .engine()?
        .client()
        .await
        .put_number_policy(&pnid, &policy)
        .await?)
}

#[tauri::command]
pub async fn business_hours(app: State<'_, App>, pnid: String) -> UiResult<Option<BusinessHours>> {
    Ok(app.engine()?.client().await.business_hours(&pnid).await?)
}

#[tauri::command]
pub async fn put_business_hours(
    app: State<'_, App>,
    pnid: String,
    hours: BusinessHours,
) -> UiResult<BusinessHours> {
    Ok(app
        .engine()?
        .client()
        .await
        .put_business_hours(&pnid, &hours)
        .await?)
}

#[tauri::command]
pub async fn delete_business_hours(app: State<'_, App>, pnid: String) -> UiResult<()> {
    Ok(app
        .engine()?
        .client()
        .await
        .delete_business_hours(&pnid)
        .await?)
}

#[tauri::command]
pub async fn rate_limit(app: State<'_, App>, pnid: String) -> UiResult<NumberRate> {
    Ok(app.engine()?.client().await.rate_limit(&pnid).await?)
}

#[tauri::command]
pub async fn put_rate_limit(
    app: State<'_, App>,
    pnid: String,
    rate: RateSettings,
) -> UiResult<RateSettings> {
    Ok(app
        .engine()?
        .client()
        .await
        .put_rate_limit(&pnid, &rate)
        .await?)
}

#[tauri::command]
pub async fn sync_templates(app: State<'_, App>) -> UiResult<Vec<SyncResult>> {
    Ok(app.engine()?.client().await.sync_templates().await?)
}
