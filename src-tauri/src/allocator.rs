//! glibc's allocator, tuned for a long-running desktop app (Linux with glibc only).
//!
//! By default glibc keeps memory it could give back: up to 8 arenas per core for the threads of
//! tokio, GTK and the notification plugin, and a mmap/trim threshold that grows with every large
//! block freed (an inbox of 10,000 conversations serialised for the page is several MiB), after
//! which such blocks stay in the heap. A fixed threshold of 128 KiB and at most two arenas give
//! that memory back to the system once the page has its data (about 5 MiB less resident memory at
//! idle in `scripts/bench-desktop.sh`), at no visible cost for an app that is idle most of the day.

/// Call first thing in `main`, before any thread starts.
#[allow(unsafe_code)]
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}
