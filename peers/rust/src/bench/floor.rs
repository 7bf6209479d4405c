//! The wire floor: header blocks for the raw pipeline, so that raw async-nats carries the bytes a
//! Sluice message carries and the difference left to the Sluice pass is the crate's own work.
//!
//! - `raw`: no headers (the raw pipeline as it always was).
//! - `raw-id`: `Nats-Msg-Id` only, a fresh id per message (the server's de-duplication).
//! - `raw-wire`: the block this crate's producer sends (§3), same names, value shapes and
//!   lengths: `Nats-Msg-Id` (`<producer>-<8 hex>-<seq>`), `Sluice-Protocol`, `Sluice-Type`,
//!   `Sluice-Type-Version`, `Content-Type`, a fresh unsampled `traceparent`, `Sluice-Producer`,
//!   `Sluice-Sent-At`; the handler looks up and parses the required ones as a worker must.
//! - `raw-compact`: for measurement only, not the protocol: `Nats-Msg-Id`, `traceparent` and one
//!   `Sluice: 1;<type>;<version>;<producer>;<sent-at-ms>` header, parsed by the handler.
//!
//! No credits, no idempotency, no validation beyond reading the values.

use async_nats::{HeaderMap, HeaderName, HeaderValue};
use sluice::__internal::headers as h;
use sluice::TraceParent;

/// Which header block a raw pass publishes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wire {
    None,
    Id,
    Full,
    Compact,
}

impl Wire {
    /// The pipeline's name in the output (`raw`, `raw-id`, `raw-wire`, `raw-compact`).
    pub fn label(self) -> &'static str {
        match self {
            Wire::None => "raw",
            Wire::Id => "raw-id",
            Wire::Full => "raw-wire",
            Wire::Compact => "raw-compact",
        }
    }
}

const MSG_ID: HeaderName = HeaderName::from_static(h::MSG_ID);
const PROTOCOL: HeaderName = HeaderName::from_static(h::PROTOCOL);
const TYPE: HeaderName = HeaderName::from_static(h::TYPE);
const TYPE_VERSION: HeaderName = HeaderName::from_static(h::TYPE_VERSION);
const CONTENT_TYPE: HeaderName = HeaderName::from_static(h::CONTENT_TYPE);
const TRACEPARENT: HeaderName = HeaderName::from_static(h::TRACEPARENT);
const PRODUCER: HeaderName = HeaderName::from_static(h::PRODUCER);
const SENT_AT: HeaderName = HeaderName::from_static(h::SENT_AT);
const COMPACT: HeaderName = HeaderName::from_static("Sluice");

/// The type, version and content type the bench's Sluice pass sends.
pub const TYPE_NAME: &str = "bench.Job";
pub const VERSION: u32 = 1;
const JSON: &str = "application/json";

/// Builds the header blocks of one sending task, as a producer named `producer` would.
pub struct Stamper {
    wire: Wire,
    producer: String,
    nonce: String,
}

impl Stamper {
    pub fn new(wire: Wire, producer: &str) -> Stamper {
        Stamper {
            wire,
            producer: producer.to_string(),
            nonce: format!("{:08x}", rand::random::<u32>()),
        }
    }

    /// The block for message `seq`; None for the plain raw pipeline.
    pub fn headers(&self, seq: u64) -> Option<HeaderMap> {
        if self.wire == Wire::None {
            return None;
        }
        let mut m = HeaderMap::new();
        let id = format!("{}-{}-{}", self.producer, self.nonce, seq);
        m.insert(MSG_ID, HeaderValue::from(id));
        if self.wire == Wire::Id {
            return Some(m);
        }
        let mut tp = TraceParent::new_root();
        tp.flags = "00".into();
        let sent_at = sluice_now_ms().to_string();
        match self.wire {
            Wire::Full => {
                m.insert(PROTOCOL, HeaderValue::from("1".to_owned()));
                m.insert(TYPE, HeaderValue::from(TYPE_NAME.to_owned()));
                m.insert(TYPE_VERSION, HeaderValue::from(VERSION.to_string()));
                m.insert(CONTENT_TYPE, HeaderValue::from(JSON.to_owned()));
                m.insert(TRACEPARENT, HeaderValue::from(tp.header()));
                m.insert(PRODUCER, HeaderValue::from(self.producer.clone()));
                m.insert(SENT_AT, HeaderValue::from(sent_at));
            }
            Wire::Compact => {
                m.insert(TRACEPARENT, HeaderValue::from(tp.header()));
                let v = format!("1;{TYPE_NAME};{VERSION};{};{sent_at}", self.producer);
                m.insert(COMPACT, HeaderValue::from(v));
            }
            Wire::None | Wire::Id => unreachable!(),
        }
        Some(m)
    }
}

fn sluice_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Reads a delivery's headers as a worker must before it runs the handler: looks up the
/// required ones and parses the numbers. False when one is missing or malformed.
pub fn read(wire: Wire, headers: Option<&HeaderMap>) -> bool {
    let get = |n: HeaderName| headers.and_then(|m| m.get(n)).map(|v| v.as_str());
    let number = |s: Option<&str>| s.and_then(|s| s.parse::<u32>().ok());
    match wire {
        Wire::None => true,
        Wire::Id => get(MSG_ID).is_some_and(|s| !s.is_empty()),
        Wire::Full => {
            get(MSG_ID).is_some_and(|s| !s.is_empty())
                && number(get(PROTOCOL)).is_some()
                && get(TYPE).is_some_and(|s| !s.is_empty())
                && number(get(TYPE_VERSION)).is_some()
                && get(TRACEPARENT).is_some_and(|s| s.len() == 55)
        }
        Wire::Compact => {
            let Some(c) = get(COMPACT) else { return false };
            let mut f = c.split(';');
            let (p, t, v) = (f.next(), f.next(), f.next());
            get(MSG_ID).is_some_and(|s| !s.is_empty())
                && number(p).is_some()
                && t.is_some_and(|s| !s.is_empty())
                && number(v).is_some()
                && get(TRACEPARENT).is_some_and(|s| s.len() == 55)
        }
    }
}
