//! Outcome classification of one delivery (§7.2), split around the handler run.

use crate::backoff::Backoff;
use crate::headers::{validate, ValidHeaders, Validation};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandledType {
    pub type_name: String,
    pub min_version: u32,
    pub max_version: u32,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub max_attempts: u64,
    pub max_deliveries: u64,
    pub grace_ms: u64,
    pub grace_delay_ms: u64,
    pub max_payload_bytes: usize,
    pub backoff: Backoff,
    pub supported_protocol: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_attempts: 5,
            max_deliveries: 10,
            grace_ms: 25_000,
            grace_delay_ms: 5_000,
            max_payload_bytes: 1 << 20,
            backoff: Backoff::default(),
            supported_protocol: crate::PROTOCOL_VERSION,
        }
    }
}

/// What to do with a delivery before (or instead of) running the handler: steps 1–5 of §7.2.
#[derive(Debug, Clone, PartialEq)]
pub enum Precheck<'a> {
    DeadLetter {
        reason: &'static str,
        error: String,
    },
    /// Already processed: ack (finishing) without running the handler.
    Duplicate,
    /// Not handled here, within the grace period: NAK with the grace delay.
    NakNotHandled {
        delay_ms: u64,
        reason: &'static str,
    },
    /// Go on to decoding (step 6) and the handler (step 7).
    Proceed(ValidHeaders<'a>),
}

/// What a worker knows about the other live workers of its queue (their capacity adverts, any
/// state, its own excluded): §4.2 and §7.2 step 3.
pub trait Fleet {
    /// Another live advert lists the delivery's type and version (at its protocol).
    fn handles(&self, v: &ValidHeaders) -> bool;
    /// Another live advert does not.
    fn declines(&self, v: &ValidHeaders) -> bool;
}

/// A fixed answer: `(fleet_handles, fleet_declines)`, as in the outcome vectors.
impl Fleet for (bool, bool) {
    fn handles(&self, _: &ValidHeaders) -> bool {
        self.0
    }
    fn declines(&self, _: &ValidHeaders) -> bool {
        self.1
    }
}

/// What the server tells about one delivery, besides its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Payload size in bytes.
    pub payload_len: usize,
    /// The delivery count `k`, from 1.
    pub delivery_count: u64,
    /// Now − the stream's store time of the message.
    pub age_ms: i64,
}

/// Steps 1–5 of §7.2. `processed` is asked only once the headers are valid (it needs the id);
/// `fleet` only past max deliveries or past the grace period.
pub fn precheck<'a>(
    settings: &Settings,
    handled: &[HandledType],
    get_header: impl Fn(&'static str) -> Option<&'a str>,
    delivery: Delivery,
    processed: impl FnOnce(&str) -> bool,
    fleet: &dyn Fleet,
) -> Precheck<'a> {
    let Delivery {
        payload_len,
        delivery_count,
        age_ms,
    } = delivery;
    let v = match validate(get_header, settings.supported_protocol) {
        Validation::Invalid { reason, header } => {
            let error = if reason == "missing-header" {
                format!("missing header {header}")
            } else {
                format!("malformed header {header}")
            };
            return Precheck::DeadLetter { reason, error };
        }
        Validation::Valid(v) => v,
    };
    if payload_len > settings.max_payload_bytes {
        return Precheck::DeadLetter {
            reason: "oversize",
            error: format!(
                "payload of {payload_len} bytes exceeds {}",
                settings.max_payload_bytes
            ),
        };
    }
    let not_here = not_handled(&v, handled);
    if delivery_count > settings.max_deliveries {
        // Step 3: in a mixed fleet for this message the deliveries may have been grace NAKs,
        // which say nothing about crashes: go on.
        let mixed = match not_here {
            None => fleet.declines(&v),
            Some(_) => fleet.handles(&v),
        };
        if !mixed {
            return Precheck::DeadLetter {
                reason: "max-deliveries",
                error: format!(
                    "delivered {delivery_count} times (max {})",
                    settings.max_deliveries
                ),
            };
        }
    }
    if processed(v.msg_id) {
        return Precheck::Duplicate;
    }
    if let Some(reason) = not_here {
        // §4.2: after the grace period, dead-letter only when no other live advert handles it.
        if age_ms < settings.grace_ms as i64 || fleet.handles(&v) {
            return Precheck::NakNotHandled {
                delay_ms: settings.grace_delay_ms,
                reason,
            };
        }
        let error = match reason {
            "unsupported-protocol" => format!("protocol {} is not supported", v.protocol),
            "unknown-type" => format!("no handler for type {}", v.type_name),
            _ => format!("type {} version {} is not handled", v.type_name, v.version),
        };
        return Precheck::DeadLetter { reason, error };
    }
    Precheck::Proceed(v)
}

/// `unsupported-protocol`, `unknown-type` or `unsupported-version` when the delivery is not
/// handled here (§4.2).
pub fn not_handled(v: &ValidHeaders, handled: &[HandledType]) -> Option<&'static str> {
    if let Some(r) = v.not_handled_reason {
        return Some(r);
    }
    let mut types = handled
        .iter()
        .filter(|h| h.type_name == v.type_name)
        .peekable();
    if types.peek().is_none() {
        return Some("unknown-type");
    }
    if !types.any(|h| h.min_version <= v.version && v.version <= h.max_version) {
        return Some("unsupported-version");
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
pub enum HandlerResult {
    Success,
    /// An explicit, permanent rejection.
    Reject(String),
    /// Any other failure, a timeout included.
    Fail(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Final {
    Ack,
    DeadLetter {
        reason: &'static str,
        error: String,
    },
    /// NAK with the backoff for the failed attempt.
    NakRetry,
}

/// Step 7 of §7.2: the outcome once the handler ran on delivery `k`.
pub fn after_handler(settings: &Settings, delivery_count: u64, result: &HandlerResult) -> Final {
    match result {
        HandlerResult::Success => Final::Ack,
        HandlerResult::Reject(e) => Final::DeadLetter {
            reason: "rejected",
            error: e.clone(),
        },
        HandlerResult::Fail(e) => {
            if delivery_count >= settings.max_attempts {
                Final::DeadLetter {
                    reason: "max-attempts",
                    error: e.clone(),
                }
            } else {
                Final::NakRetry
            }
        }
    }
}
