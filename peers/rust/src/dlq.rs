//! Dead-letter records (§8.1) and replay headers (§8.3).

pub const REASONS: [&str; 10] = [
    "missing-header",
    "bad-header",
    "oversize",
    "max-deliveries",
    "unknown-type",
    "unsupported-version",
    "unsupported-protocol",
    "decode-error",
    "rejected",
    "max-attempts",
];

/// Longest `Sluice-Dlq-Error`, in characters.
pub const ERROR_MAX_CHARS: usize = 1024;

pub struct RecordInfo<'a> {
    pub stream: &'a str,
    pub stream_seq: u64,
    pub subject: &'a str,
    pub delivery_count: u64,
    pub worker_id: &'a str,
    pub at_unix_ms: i64,
    pub reason: &'a str,
    pub error: &'a str,
}

/// Truncates to at most [`ERROR_MAX_CHARS`] characters.
pub fn truncate_error(e: &str) -> String {
    e.chars().take(ERROR_MAX_CHARS).collect()
}

pub fn record_msg_id(stream: &str, stream_seq: u64) -> String {
    format!("dlq.{stream}.{stream_seq}")
}

/// The record's headers: every original header (all values, in order) with `Nats-Msg-Id`
/// replaced, then the `Sluice-Dlq-*` headers.
pub fn record_headers(original: &[(String, String)], info: &RecordInfo) -> Vec<(String, String)> {
    let original_id = original
        .iter()
        .find(|(k, _)| k == "Nats-Msg-Id")
        .map(|(_, v)| v.clone());
    let mut out: Vec<(String, String)> = original
        .iter()
        .filter(|(k, _)| {
            k != "Nats-Msg-Id" && !k.starts_with("Sluice-Dlq-") && !k.starts_with("Nats-Expected-")
        })
        .cloned()
        .collect();
    out.push((
        "Nats-Msg-Id".into(),
        record_msg_id(info.stream, info.stream_seq),
    ));
    if let Some(id) = original_id {
        out.push(("Sluice-Dlq-Msg-Id".into(), id));
    }
    out.push(("Sluice-Dlq-Reason".into(), info.reason.into()));
    out.push(("Sluice-Dlq-Error".into(), truncate_error(info.error)));
    out.push((
        "Sluice-Dlq-Attempts".into(),
        info.delivery_count.to_string(),
    ));
    out.push(("Sluice-Dlq-Stream".into(), info.stream.into()));
    out.push(("Sluice-Dlq-Stream-Seq".into(), info.stream_seq.to_string()));
    out.push(("Sluice-Dlq-Subject".into(), info.subject.into()));
    out.push(("Sluice-Dlq-Worker".into(), info.worker_id.into()));
    out.push(("Sluice-Dlq-At".into(), info.at_unix_ms.to_string()));
    out
}

/// Replay headers: the record's headers minus `Sluice-Dlq-*`, `Nats-Msg-Id` = `replay.<seq>`,
/// `Sluice-Replay-Of` = the original id (when the record has one).
pub fn replay_headers(record: &[(String, String)], dlq_stream_seq: u64) -> Vec<(String, String)> {
    let original_id = record
        .iter()
        .find(|(k, _)| k == "Sluice-Dlq-Msg-Id")
        .map(|(_, v)| v.clone());
    let mut out: Vec<(String, String)> = record
        .iter()
        .filter(|(k, _)| {
            k != "Nats-Msg-Id"
                && k != "Sluice-Replay-Of"
                && !k.starts_with("Sluice-Dlq-")
                && !k.starts_with("Nats-Expected-")
        })
        .cloned()
        .collect();
    out.push(("Nats-Msg-Id".into(), format!("replay.{dlq_stream_seq}")));
    if let Some(id) = original_id {
        out.push(("Sluice-Replay-Of".into(), id));
    }
    out
}
