//! W3C Trace Context handling (§10).

use rand::RngExt;

/// A W3C trace context (`traceparent`, version 00) as Sluice carries it (§10).
///
/// ```
/// let tp = sluice::TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// assert_eq!(tp.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(tp.header(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// assert!(sluice::TraceParent::parse("00-0-0-01").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    /// 32 lowercase hex digits, not all zero.
    pub trace_id: String,
    /// The span id: 16 lowercase hex digits, not all zero.
    pub parent_id: String,
    /// Trace flags, 2 hex digits (`01`: sampled).
    pub flags: String,
}

impl TraceParent {
    /// Parses a `traceparent` header value; `None` when it is malformed.
    pub fn parse(value: &str) -> Option<TraceParent> {
        parse_traceparent(value)
    }

    /// A new sampled trace with a random trace id and span id.
    pub fn new_root() -> TraceParent {
        new_trace()
    }

    /// The same trace with a new span id: the context of a child span.
    pub fn child(&self) -> TraceParent {
        TraceParent {
            trace_id: self.trace_id.clone(),
            parent_id: new_span_id(),
            flags: self.flags.clone(),
        }
    }

    /// The `traceparent` header value.
    pub fn header(&self) -> String {
        let mut h = String::with_capacity(
            5 + self.trace_id.len() + self.parent_id.len() + self.flags.len(),
        );
        for part in ["00", &self.trace_id, &self.parent_id, &self.flags] {
            if !h.is_empty() {
                h.push('-');
            }
            h.push_str(part);
        }
        h
    }
}

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// The trace id, parent id and flags of `00-<32 hex>-<16 hex>-<2 hex>`, lowercase, with
/// non-zero trace and parent ids; borrowed, nothing copied.
fn split_traceparent(s: &str) -> Option<(&str, &str, &str)> {
    // Fixed widths: the dashes are at 2, 35 and 52 of 55 bytes (hex digits are never dashes).
    let b = s.as_bytes();
    if b.len() != 55 || b[2] != b'-' || b[35] != b'-' || b[52] != b'-' || &s[..2] != "00" {
        return None;
    }
    let (t, p, f) = (&s[3..35], &s[36..52], &s[53..]);
    if !lower_hex(t, 32) || !lower_hex(p, 16) || !lower_hex(f, 2) {
        return None;
    }
    if t.bytes().all(|c| c == b'0') || p.bytes().all(|c| c == b'0') {
        return None;
    }
    Some((t, p, f))
}

/// Whether `s` is a well-formed `traceparent` (§10), checked without copying it.
pub fn valid_traceparent(s: &str) -> bool {
    split_traceparent(s).is_some()
}

/// Parses `00-<32 hex>-<16 hex>-<2 hex>`, lowercase, with non-zero trace and parent ids.
pub fn parse_traceparent(s: &str) -> Option<TraceParent> {
    split_traceparent(s).map(|(t, p, f)| TraceParent {
        trace_id: t.into(),
        parent_id: p.into(),
        flags: f.into(),
    })
}

/// `bytes` random bytes as lowercase hex, never all zeros (an invalid W3C id). One buffer, no
/// formatting: a producer makes one per send and a worker one per delivery.
fn random_hex(bytes: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut rng = rand::rng();
    let mut raw = [0u8; 16];
    let raw = &mut raw[..bytes.min(16)];
    loop {
        rng.fill(&mut *raw);
        if raw.iter().any(|b| *b != 0) {
            break;
        }
    }
    let mut out = String::with_capacity(raw.len() * 2);
    for b in raw.iter() {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

pub fn new_trace_id() -> String {
    random_hex(16)
}
pub fn new_span_id() -> String {
    random_hex(8)
}

/// A new unsampled trace (flags `00`): what a producer sends for a message that carries no trace
/// of its own. Nothing in the producer records it, and nats-server 2.11+ builds a map of every
/// message's headers when its `traceparent` is sampled (PROTOCOL.md §10 [v1.3]).
pub fn new_unsampled_trace() -> TraceParent {
    TraceParent {
        trace_id: new_trace_id(),
        parent_id: new_span_id(),
        flags: "00".into(),
    }
}

/// A new sampled trace.
pub fn new_trace() -> TraceParent {
    TraceParent {
        trace_id: new_trace_id(),
        parent_id: new_span_id(),
        flags: "01".into(),
    }
}

/// The handler span of a delivery: the message's trace id with a new span id, or a new trace
/// when `traceparent` is missing or malformed.
pub fn continue_trace(traceparent: Option<&str>) -> TraceParent {
    match traceparent.and_then(split_traceparent) {
        Some((t, _, f)) => TraceParent {
            trace_id: t.into(),
            parent_id: new_span_id(),
            flags: f.into(),
        },
        None => new_trace(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_lowercase_hex_of_the_w3c_lengths() {
        for _ in 0..100 {
            let tp = new_trace();
            assert!(lower_hex(&tp.trace_id, 32), "{}", tp.trace_id);
            assert!(lower_hex(&tp.parent_id, 16), "{}", tp.parent_id);
            assert_eq!(parse_traceparent(&tp.header()), Some(tp.clone()));
            assert_ne!(new_span_id(), new_span_id());
        }
    }
}
