//! Sluice protocol v1 (`protocol/PROTOCOL.md`): the pure rules every peer must reproduce, plus
//! the worker, producer and schedule roles used by the `sluice-peer-rust` binary.

pub mod backoff;
pub mod cli;
pub mod credits;
pub mod dlq;
pub mod events;
pub mod fairness;
pub mod fleet;
pub mod headers;
pub mod idempotency;
pub mod jsutil;
pub mod names;
pub mod outcome;
pub mod problem;
pub mod producer;
pub mod proto;
pub mod ratelimit;
pub mod pushback;
pub mod schedule;
pub mod schedule_role;
pub mod size;
pub mod trace;
pub mod worker;

/// The protocol revision this peer implements (`Sluice-Protocol`).
pub const PROTOCOL_VERSION: u32 = 1;
/// The `language` reported in adverts and reports, and `lang` in events.
pub const LANGUAGE: &str = "rust";

/// Milliseconds since the Unix epoch.
pub fn now_unix_ms() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
