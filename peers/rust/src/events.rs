//! JSON-lines events on stdout for the conformance peer (peers/README.md), and the crate's
//! warning macro.

use serde_json::Value;
use std::io::Write;
use std::sync::Mutex;

static STDOUT: Mutex<()> = Mutex::new(());

/// Writes one event line and flushes, so a reader sees it at once.
pub fn emit(event: Value) {
    let _guard = STDOUT.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{event}");
    let _ = out.flush();
}

/// A warning through `tracing` (target `sluice`).
#[macro_export]
#[doc(hidden)]
macro_rules! log {
    ($($arg:tt)*) => {{
        tracing::warn!(target: "sluice", "{}", format!($($arg)*));
    }};
}
