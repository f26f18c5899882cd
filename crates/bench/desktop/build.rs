//! The empty app declares no app manifest: its one command needs no capability (local page only).

fn main() {
    tauri_build::build();
}
