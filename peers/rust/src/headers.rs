//! Worker-side header validation (§3).

pub const MSG_ID: &str = "Nats-Msg-Id";
pub const PROTOCOL: &str = "Sluice-Protocol";
pub const TYPE: &str = "Sluice-Type";
pub const TYPE_VERSION: &str = "Sluice-Type-Version";
pub const CONTENT_TYPE: &str = "Content-Type";
pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";
pub const PRODUCER: &str = "Sluice-Producer";
pub const SENT_AT: &str = "Sluice-Sent-At";
pub const REPLAY_OF: &str = "Sluice-Replay-Of";

/// The result of validating one delivery's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation<'a> {
    Valid(ValidHeaders<'a>),
    /// `reason` is `missing-header` or `bad-header`; `header` names the first failing header.
    Invalid {
        reason: &'static str,
        header: &'static str,
    },
}

/// The values are borrowed from the delivery's headers: validating copies nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidHeaders<'a> {
    pub msg_id: &'a str,
    pub protocol: u64,
    pub type_name: &'a str,
    pub version: u32,
    /// Whether `traceparent` is present and well formed (§10).
    pub trace_valid: bool,
    /// `Some("unsupported-protocol")` when the protocol is newer than the worker's (§3 step 3).
    pub not_handled_reason: Option<&'static str>,
}

/// `[1-9][0-9]*`: a decimal integer with no sign and no leading zeros.
fn is_plain_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b[0] != b'0' && b.iter().all(u8::is_ascii_digit)
}

fn valid_msg_id(s: &str) -> bool {
    (1..=128).contains(&s.len()) && s.bytes().all(|c| (0x21..=0x7e).contains(&c))
}

fn valid_type(s: &str) -> bool {
    (1..=256).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'/'))
}

/// Validates headers in the order of §3; `get` returns a header's first value (it is asked only
/// for the names above, so it can look them up without building a name).
pub fn validate<'a>(
    get: impl Fn(&'static str) -> Option<&'a str>,
    supported_protocol: u32,
) -> Validation<'a> {
    // Each header is looked up once.
    let names = [MSG_ID, PROTOCOL, TYPE, TYPE_VERSION];
    let mut values = [""; 4];
    for (name, value) in names.into_iter().zip(&mut values) {
        match get(name) {
            Some(v) if !v.is_empty() => *value = v,
            _ => {
                return Validation::Invalid {
                    reason: "missing-header",
                    header: name,
                }
            }
        }
    }
    let [msg_id, protocol, type_name, version] = values;
    let bad = |header| Validation::Invalid {
        reason: "bad-header",
        header,
    };
    if !valid_msg_id(msg_id) {
        return bad(MSG_ID);
    }
    // At most 9 digits (see NOTES.md): longer numbers are malformed, not "newer".
    let protocol_num = match (is_plain_decimal(protocol) && protocol.len() <= 9)
        .then(|| protocol.parse::<u64>().ok())
        .flatten()
    {
        Some(p) => p,
        None => return bad(PROTOCOL),
    };
    if !valid_type(type_name) {
        return bad(TYPE);
    }
    let version_num = match is_plain_decimal(version)
        .then(|| version.parse::<u64>().ok())
        .flatten()
        .filter(|v| *v <= i32::MAX as u64)
    {
        Some(v) => v as u32,
        None => return bad(TYPE_VERSION),
    };
    let trace_valid = get(TRACEPARENT).is_some_and(crate::trace::valid_traceparent);
    Validation::Valid(ValidHeaders {
        msg_id,
        protocol: protocol_num,
        type_name,
        version: version_num,
        trace_valid,
        not_handled_reason: (protocol_num > supported_protocol as u64)
            .then_some("unsupported-protocol"),
    })
}
