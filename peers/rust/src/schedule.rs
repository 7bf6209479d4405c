//! Scheduled messages (§13 [v1.2]): the names, headers and due-time rule of a schedule entry.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

pub const SCHEDULE_ID: &str = "Sluice-Schedule-Id";
pub const DUE_AT: &str = "Sluice-Due-At";
pub const CRON: &str = "Sluice-Cron";
pub const CRON_ZONE: &str = "Sluice-Cron-Zone";

/// The furthest ahead a message may be scheduled: 366 days, in milliseconds (§13.1).
pub const MAX_DELAY_MS: i64 = 366 * 24 * 3600 * 1000;

/// Queue `q`'s schedule stream (§13.2).
pub fn stream(q: &str) -> String {
    format!("SLUICE_SCHED_{q}")
}

/// The subject of schedule `id`: its UTF-8 bytes in base64url without padding, so that ids with
/// `.`, `*` or `>` stay one subject token (§13.2).
pub fn subject(q: &str, id: &str) -> String {
    format!("sluice.sched.{q}.{}", URL_SAFE_NO_PAD.encode(id.as_bytes()))
}

/// The `Nats-Msg-Id` of a one-shot entry due at `due_ms`: a retried write of the same schedule
/// is dropped by the duplicate window (§13.2).
pub fn entry_msg_id(id: &str, due_ms: i64) -> String {
    format!("sched-{due_ms}-{id}")
}

/// The due time of a schedule asked for at `requested_ms` when it is `now_ms`: a time in the past
/// is due now; `None` when it lies more than [`MAX_DELAY_MS`] ahead (§13.1, §13.3 step 1).
pub fn due_at(requested_ms: i64, now_ms: i64) -> Option<i64> {
    if requested_ms.saturating_sub(now_ms) > MAX_DELAY_MS {
        None
    } else {
        Some(requested_ms.max(now_ms))
    }
}
