//! An empty Tauri 2 app, a blank page: the floor the webview sets, measured beside the real app by
//! `scripts/bench-desktop.sh`. Same Tauri version, features and release profile as `src-tauri/`.
//!
//! The page calls `ready` once its first frame is painted; that prints
//! `SWITCHBOARD_BENCH_READY unix_ms=...` (the same line the real app prints once its inbox shows
//! rows) and, with `SWITCHBOARD_BENCH_READY=exit`, exits.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::time::{SystemTime, UNIX_EPOCH};

#[tauri::command]
fn ready(handle: tauri::AppHandle) {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0);
    println!("SWITCHBOARD_BENCH_READY unix_ms={ms:.1} rows=0");
    if std::env::var("SWITCHBOARD_BENCH_READY").is_ok_and(|v| v == "exit") {
        handle.exit(0);
    }
}

fn main() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ready])
        .run(tauri::generate_context!())
        .expect("error while running the empty Tauri app");
}
