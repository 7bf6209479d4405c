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

/// The largest header block nats-server stores in a JetStream message (§8.4).
pub const HEADER_LIMIT: u64 = 65535;
/// Longest `Sluice-Dlq-Dropped-Headers`, in characters.
pub const DROPPED_LIST_MAX_CHARS: usize = 1024;
pub const DROPPED_HEADERS: &str = "Sluice-Dlq-Dropped-Headers";
pub const PAYLOAD_LENGTH: &str = "Sluice-Dlq-Payload-Length";
pub const PAYLOAD_SHA256: &str = "Sluice-Dlq-Payload-Sha256";

/// The canonical size of a header block (§8.4): `12 + Σ (len(name) + len(value) + 4)` bytes;
/// every client's encoding is at most this.
pub fn header_size(h: &[(String, String)]) -> u64 {
    12 + h
        .iter()
        .map(|(k, v)| (k.len() + v.len() + 4) as u64)
        .sum::<u64>()
}

fn name_size(h: &[(String, String)], name: &str) -> u64 {
    h.iter()
        .filter(|(k, _)| k == name)
        .map(|(k, v)| (k.len() + v.len() + 4) as u64)
        .sum()
}

/// A dead-letter record as published (§8.4).
pub struct Reduced {
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
    pub dropped: Vec<String>,
    pub cut: bool,
}

/// Fits a record (the full §8.1 headers and the original payload) within `max_payload` bytes with
/// a header block of at most `min(65535, max_payload)` bytes: drops the largest copied original
/// headers by name (ties: the smaller name first), then cuts the payload, recording its original
/// length and SHA-256.
pub fn reduce_record(
    record: &[(String, String)],
    payload: &[u8],
    max_payload: u64,
) -> Result<Reduced, String> {
    use sha2::{Digest, Sha256};
    let mut h: Vec<(String, String)> = record.to_vec();
    let limit = max_payload.min(HEADER_LIMIT);
    let mut dropped: Vec<String> = Vec::new();
    let mut cut = false;
    let notes = |h: &Vec<(String, String)>, dropped: &Vec<String>, cut: bool| {
        let mut out = h.clone();
        if !dropped.is_empty() {
            let list: String = dropped
                .join(",")
                .chars()
                .take(DROPPED_LIST_MAX_CHARS)
                .collect();
            out.push((DROPPED_HEADERS.into(), list));
        }
        if cut {
            let digest = Sha256::digest(payload);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            out.push((PAYLOAD_LENGTH.into(), payload.len().to_string()));
            out.push((PAYLOAD_SHA256.into(), hex));
        }
        out
    };
    loop {
        let b = notes(&h, &dropped, cut);
        let size = header_size(&b);
        if size > limit {
            let mut names: Vec<&String> = h
                .iter()
                .map(|(k, _)| k)
                .filter(|k| k.as_str() != "Nats-Msg-Id" && !k.starts_with("Sluice-Dlq-"))
                .collect();
            names.sort();
            names.dedup();
            let victim = names
                .iter()
                .max_by(|a, b| {
                    name_size(&h, a)
                        .cmp(&name_size(&h, b))
                        .then_with(|| b.as_bytes().cmp(a.as_bytes()))
                })
                .map(|s| s.to_string())
                .ok_or("the dead-letter headers alone exceed the header limit")?;
            h.retain(|(k, _)| *k != victim);
            dropped.push(victim);
        } else if !cut && size + payload.len() as u64 > max_payload {
            cut = true;
        } else {
            let body = if cut {
                let keep = max_payload.saturating_sub(size).min(payload.len() as u64) as usize;
                payload[..keep].to_vec()
            } else {
                payload.to_vec()
            };
            return Ok(Reduced {
                headers: b,
                payload: body,
                dropped,
                cut,
            });
        }
    }
}
