//! Declares the app's commands (so capabilities can grant them one by one) and makes sure the
//! embedded UI exists: a checkout that never ran `npm run build` in `ui/` still compiles, and
//! shows a page saying how to build the UI.

const COMMANDS: &[&str] = &[
    "app_info",
    "sign_in",
    "sign_out",
    "conversations",
    "conversation",
    "timeline",
    "search",
    "send_text",
    "send_attachment",
    "send_template",
    "retry",
    "discard",
    "mark_read",
    "templates",
    "media",
    "set_muted",
    "bench_ready",
    "directory",
    "assign",
    "resolve",
    "reopen",
    "monitor",
    "set_status",
    "set_idle_minutes",
    "tags",
    "set_tags",
    "notes",
    "add_note",
    "save_media",
    "admin_users",
    "export_contact",
    "export_all",
    "governance_retention",
    "governance_set_retention",
    "governance_holds",
    "governance_hold",
    "governance_release",
    "governance_erase",
    "admin_business_accounts",
    "admin_update_business_account",
    "admin_meta_apps",
    "admin_history_imports",
    "admin_media_archive",
    "admin_set_meta_app_secret",
    "admin_create_user",
    "admin_update_user",
    "admin_reset_password",
    "admin_permissions",
    "admin_roles",
    "admin_create_role",
    "admin_update_role",
    "admin_delete_role",
    "admin_audit",
    "admin_audit_export",
    "numbers",
    "review_blocks",
    "review_allow",
    "review_reject",
    "admin_add_number",
    "admin_auto_replies",
    "admin_create_auto_reply",
    "admin_delete_auto_reply",
    "admin_words",
    "admin_set_words",
    "admin_check_words",
    "admin_update_auto_reply",
    "admin_test_auto_reply",
    "waiting_queue",
    "agent_report",
    "alerts",
    "mark_alerts_seen",
    "routing_settings",
    "put_routing_settings",
    "skills",
    "put_skills",
    "teams",
    "create_team",
    "put_team",
    "delete_team",
    "agent_routing",
    "put_agent_routing",
    "number_policy",
    "put_number_policy",
    "business_hours",
    "put_business_hours",
    "delete_business_hours",
    "rate_limit",
    "put_rate_limit",
    "sync_templates",
];

fn main() {
    let dist = std::path::Path::new("../ui/dist");
    if !dist.join("index.html").exists() {
        std::fs::create_dir_all(dist).expect("create ui/dist");
        std::fs::write(
            dist.join("index.html"),
            "<!doctype html><title>Switchboard</title><p>The UI is not built: run <code>npm ci &amp;&amp; npm run build</code> in <code>ui/</code>.</p>",
        )
        .expect("write placeholder");
        println!(
            "cargo:warning=ui/dist was missing: embedded a placeholder page (build the UI first)"
        );
    }
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build");
}
