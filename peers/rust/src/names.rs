//! Object names of §2. The queue name is used verbatim.

pub const CREDIT_STREAM: &str = "SLUICE_CREDITS";
pub const DLQ_STREAM: &str = "SLUICE_DLQ";
pub const WORKER_CONSUMER: &str = "workers";
pub const CAPACITY_BUCKET: &str = "sluice-capacity";
pub const CONTROL_BUCKET: &str = "sluice-control";
pub const PROCESSED_BUCKET: &str = "sluice-processed";

pub fn work_stream(q: &str) -> String {
    format!("SLUICE_Q_{q}")
}
pub fn work_subject(q: &str) -> String {
    format!("sluice.q.{q}")
}
pub fn credit_subject(q: &str, n: u32) -> String {
    format!("sluice.credit.{q}.{n}")
}
pub fn credit_filter(q: &str) -> String {
    format!("sluice.credit.{q}.>")
}
pub fn credit_consumer(q: &str) -> String {
    format!("credits-{q}")
}
pub fn dlq_subject(q: &str) -> String {
    format!("sluice.dlq.{q}")
}
pub fn capacity_key(q: &str, worker_id: &str) -> String {
    format!("{q}.{worker_id}")
}
pub fn producer_key(q: &str, producer_id: &str) -> String {
    format!("producer.{q}.{producer_id}")
}
pub fn reconciler_key(q: &str) -> String {
    format!("reconciler.{q}")
}
pub fn settings_key(q: &str) -> String {
    format!("queue.{q}")
}

/// Credits carried by a token, read from the last token of its subject (§5.3). `None` when the
/// subject is not a token subject of a power of two in `[1, 2^20]`.
pub fn token_credits(subject: &str) -> Option<u32> {
    let last = subject.rsplit('.').next()?;
    if last.is_empty() || !last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with('0') {
        return None;
    }
    let n: u32 = last.parse().ok()?;
    (n.is_power_of_two() && n <= 1 << 20).then_some(n)
}

/// `^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$` (§1).
pub fn valid_queue(q: &str) -> bool {
    let b = q.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

/// The id charset `^[A-Za-z0-9_-]{1,64}$` (§1).
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}
