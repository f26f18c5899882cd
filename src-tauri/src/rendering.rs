//! How WebKitGTK paints the page, chosen once before the webview starts (Linux only).
//!
//! WebKitGTK paints layers with Skia on the GPU through OpenGL. On a machine without a GPU
//! (virtual desktops, remote sessions, VMs without 3D, Xvfb) Mesa answers that OpenGL with
//! llvmpipe, a software rasteriser: the "GPU" painting then runs on the CPU anyway, with GL
//! buffers and per-core rasteriser threads on top, which costs the web process tens of MiB and
//! CPU time for nothing. There, the app asks WebKit to paint with Skia's CPU back-end
//! (`WEBKIT_SKIA_ENABLE_CPU_RENDERING=1`); compositing stays accelerated. A machine with a GPU
//! keeps WebKit's defaults.
//!
//! "No GPU" means no DRM render node (`/dev/dri/renderD*`): without one, Mesa cannot reach any
//! GPU and can only rasterise in software. (A machine with a render node may still end up on
//! llvmpipe; it keeps the defaults, since that cannot be known without creating a GL context.)
//!
//! `SWITCHBOARD_RENDERING=gpu|cpu|auto` overrides the choice (default `auto`); WebKit's own
//! rendering variables, if the person already set any, are left alone.

/// WebKit's variables that already say how to paint: if one is set, we do not second-guess it.
const WEBKIT_VARS: [&str; 4] = [
    "WEBKIT_SKIA_ENABLE_CPU_RENDERING",
    "WEBKIT_DISABLE_COMPOSITING_MODE",
    "WEBKIT_DISABLE_DMABUF_RENDERER",
    "WEBKIT_FORCE_COMPOSITING_MODE",
];
const CPU_VAR: &str = "WEBKIT_SKIA_ENABLE_CPU_RENDERING";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Painting {
    /// WebKit's defaults (GPU painting where it has a GL context).
    Default,
    /// Skia's CPU back-end.
    Cpu,
}

/// The pure decision: `setting` is `SWITCHBOARD_RENDERING`, `webkit_set` whether the person set
/// one of WebKit's own variables, `render_node` whether a DRM render node exists.
pub fn decide(setting: Option<&str>, webkit_set: bool, render_node: bool) -> Painting {
    if webkit_set {
        return Painting::Default;
    }
    match setting.and_then(requested) {
        Some(painting) => painting,
        None if render_node => Painting::Default,
        None => Painting::Cpu,
    }
}

/// What `SWITCHBOARD_RENDERING` asks for: `gpu` or `cpu`; `None` for `auto` (or anything else).
fn requested(setting: &str) -> Option<Painting> {
    match setting.trim().to_ascii_lowercase().as_str() {
        "gpu" => Some(Painting::Default),
        "cpu" => Some(Painting::Cpu),
        _ => None,
    }
}

fn has_render_node(dri: &std::path::Path) -> bool {
    std::fs::read_dir(dri)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
        })
        .unwrap_or(false)
}

/// Applies the choice to this process's environment, which WebKit's web process inherits.
/// Call before anything starts a thread or the webview.
pub fn apply() -> Painting {
    if !cfg!(target_os = "linux") {
        return Painting::Default;
    }
    let setting = std::env::var("SWITCHBOARD_RENDERING").ok();
    if let Some(s) = &setting {
        if requested(s).is_none() && !s.trim().eq_ignore_ascii_case("auto") {
            tracing::warn!(value = %s, "SWITCHBOARD_RENDERING must be gpu, cpu or auto; using auto");
        }
    }
    let webkit_set = WEBKIT_VARS.iter().any(|v| std::env::var_os(v).is_some());
    let node = has_render_node(std::path::Path::new("/dev/dri"));
    let painting = decide(setting.as_deref(), webkit_set, node);
    if painting == Painting::Cpu {
        // No other thread exists yet: run() calls this before starting anything.
        std::env::set_var(CPU_VAR, "1");
    }
    tracing::info!(?painting, render_node = node, "webview painting");
    painting
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_gpu_means_cpu_painting_unless_told_otherwise() {
        assert_eq!(decide(None, false, false), Painting::Cpu);
        assert_eq!(decide(Some("auto"), false, false), Painting::Cpu);
        assert_eq!(decide(None, false, true), Painting::Default);
        assert_eq!(decide(Some("gpu"), false, false), Painting::Default);
        assert_eq!(decide(Some(" CPU "), false, true), Painting::Cpu);
        // An unknown value behaves like auto.
        assert_eq!(decide(Some("fast"), false, false), Painting::Cpu);
        assert_eq!(decide(Some("fast"), false, true), Painting::Default);
    }

    #[test]
    fn webkit_variables_set_by_the_person_win() {
        assert_eq!(decide(None, true, false), Painting::Default);
        assert_eq!(decide(Some("cpu"), true, true), Painting::Default);
    }

    #[test]
    fn render_nodes_are_found_by_name() {
        let dir = std::env::temp_dir().join(format!("sb-dri-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(!has_render_node(&dir));
        std::fs::write(dir.join("card0"), b"").unwrap();
        assert!(
            !has_render_node(&dir),
            "a display node alone is no render node"
        );
        std::fs::write(dir.join("renderD128"), b"").unwrap();
        assert!(has_render_node(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!has_render_node(&dir), "no /dev/dri at all");
    }
}
