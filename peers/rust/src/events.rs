//! JSON-lines events on stdout (peers/README.md). Logs go to stderr.

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

/// A log line on stderr.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {{
        eprintln!("[sluice-peer-rust] {}", format!($($arg)*));
    }};
}
