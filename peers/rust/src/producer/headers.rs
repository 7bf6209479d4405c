//! A send's header block (§3): built for each publish attempt with names from static strings
//! (no allocation or validation per name), so the size check (§2.2) needs none built. The
//! headers every send of one type shares are hashed once into a `Shared` block; an attempt
//! clones it and sets its id, trace and Sent-At.

use crate::headers as h;
use async_nats::{HeaderMap, HeaderName};
use std::sync::{Arc, Mutex};

const MSG_ID: HeaderName = HeaderName::from_static(h::MSG_ID);
const PROTOCOL: HeaderName = HeaderName::from_static(h::PROTOCOL);
const TYPE: HeaderName = HeaderName::from_static(h::TYPE);
const TYPE_VERSION: HeaderName = HeaderName::from_static(h::TYPE_VERSION);
const CONTENT_TYPE: HeaderName = HeaderName::from_static(h::CONTENT_TYPE);
const TRACEPARENT: HeaderName = HeaderName::from_static(h::TRACEPARENT);
const PRODUCER: HeaderName = HeaderName::from_static(h::PRODUCER);
const SENT_AT: HeaderName = HeaderName::from_static(h::SENT_AT);
const FAIRNESS_KEY: HeaderName = HeaderName::from_static(crate::fairness::HEADER);

/// §3: a message without `Content-Type` has this one, so a send with it leaves the header out
/// (38 bytes fewer), as the Java and Go producers do.
pub(super) const DEFAULT_CONTENT_TYPE: &str = "application/x-protobuf";

/// The values of one send's headers, borrowed from the message and the producer.
pub(super) struct SendHeaders<'a> {
    pub msg_id: &'a str,
    pub protocol: &'a str,
    pub type_name: &'a str,
    pub version: u32,
    pub content_type: &'a str,
    pub traceparent: &'a str,
    pub producer: &'a str,
    /// §15.3, when the send has one.
    pub fairness_key: Option<&'a str>,
}

impl SendHeaders<'_> {
    /// The `Content-Type` to send: none for the default.
    fn content_type(&self) -> Option<&str> {
        Some(self.content_type).filter(|c| *c != DEFAULT_CONTENT_TYPE)
    }

    /// The block's size as sent (`NATS/1.0\r\n`, `name: value\r\n` each, a closing `\r\n`),
    /// as `jsutil::header_map_size` counts it, with a Sent-At of `sent_at_ms`.
    pub(super) fn size(&self, sent_at_ms: i64) -> u64 {
        let line = |name: &str, value: usize| (name.len() + value + 4) as u64;
        let digits = crate::decimal::len;
        12 + line(h::MSG_ID, self.msg_id.len())
            + line(h::PROTOCOL, self.protocol.len())
            + line(h::TYPE, self.type_name.len())
            + line(h::TYPE_VERSION, digits(self.version as i64))
            + self
                .content_type()
                .map_or(0, |c| line(h::CONTENT_TYPE, c.len()))
            + line(h::TRACEPARENT, self.traceparent.len())
            + line(h::PRODUCER, self.producer.len())
            + line(h::SENT_AT, digits(sent_at_ms))
            + self
                .fairness_key
                .map_or(0, |k| line(crate::fairness::HEADER, k.len()))
    }

    /// The headers shared by every send of this type, version, content type and fairness key
    /// from this producer. The per-send names are in it with empty values (which clone without
    /// allocating), so the table is sized for the whole block and setting them rehashes nothing.
    fn shared_map(&self) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(MSG_ID, String::new());
        m.insert(PROTOCOL, self.protocol.to_owned());
        m.insert(TYPE, self.type_name.to_owned());
        m.insert(TYPE_VERSION, crate::decimal::string(self.version.into()));
        m.insert(TRACEPARENT, String::new());
        m.insert(PRODUCER, self.producer.to_owned());
        m.insert(SENT_AT, String::new());
        if let Some(c) = self.content_type() {
            m.insert(CONTENT_TYPE, c.to_owned());
        }
        if let Some(k) = self.fairness_key {
            m.insert(FAIRNESS_KEY, k.to_owned());
        }
        m
    }

    /// Whether `s` was made for sends like this one.
    fn shares(&self, s: &Shared) -> bool {
        s.type_name == self.type_name
            && s.version == self.version
            && s.content_type == self.content_type
            && s.fairness_key.as_deref() == self.fairness_key
            && s.producer == self.producer
            && s.protocol == self.protocol
    }

    /// The block for one publish attempt.
    pub(super) fn map(&self, sent_at_ms: i64) -> HeaderMap {
        self.map_from(&self.shared_map(), sent_at_ms)
    }

    /// The block for one publish attempt from the shared headers of its sends: the id, the
    /// trace and Sent-At set on a clone (hashed again, nothing else).
    pub(super) fn map_from(&self, shared: &HeaderMap, sent_at_ms: i64) -> HeaderMap {
        let mut m = shared.clone();
        m.insert(MSG_ID, self.msg_id.to_owned());
        m.insert(TRACEPARENT, self.traceparent.to_owned());
        m.insert(SENT_AT, crate::decimal::string(sent_at_ms));
        m
    }

    /// Every header as a (name, value) pair, to word a refusal (§2.2).
    pub(super) fn to_pairs(&self, sent_at_ms: i64) -> Vec<(String, String)> {
        crate::jsutil::header_pairs(Some(&self.map(sent_at_ms)))
    }
}

/// The shared headers of the last kind of send (most producers send one type), and what they
/// were made for.
pub(super) struct Shared {
    type_name: String,
    version: u32,
    content_type: String,
    fairness_key: Option<String>,
    producer: String,
    protocol: String,
    pub(super) map: HeaderMap,
}

/// A producer's cache of one `Shared` block.
#[derive(Default)]
pub(super) struct SharedCache(Mutex<Option<Arc<Shared>>>);

impl SharedCache {
    /// The shared headers for `h`'s send: the cached block when it was made for sends like it,
    /// else a new one, which replaces it.
    pub(super) fn get(&self, h: &SendHeaders<'_>) -> Arc<Shared> {
        if let Some(s) = self.0.lock().unwrap().as_ref().filter(|s| h.shares(s)) {
            return s.clone();
        }
        let s = Arc::new(Shared {
            type_name: h.type_name.to_owned(),
            version: h.version,
            content_type: h.content_type.to_owned(),
            fairness_key: h.fairness_key.map(str::to_owned),
            producer: h.producer.to_owned(),
            protocol: h.protocol.to_owned(),
            map: h.shared_map(),
        });
        *self.0.lock().unwrap() = Some(s.clone());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(key: Option<&str>) -> SendHeaders<'_> {
        SendHeaders {
            msg_id: "p-abc-1",
            protocol: "1",
            type_name: "orders.Created",
            version: 12,
            content_type: "application/json",
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            producer: "p",
            fairness_key: key,
        }
    }

    #[test]
    fn size_is_the_size_of_the_block_it_builds() {
        for key in [None, Some("tenant-7")] {
            let s = sample(key);
            let map = s.map(1_764_000_000_123);
            assert_eq!(
                s.size(1_764_000_000_123),
                crate::jsutil::header_map_size(&map)
            );
            assert_eq!(map.len(), 8 + key.iter().count());
        }
    }

    #[test]
    fn a_block_from_shared_headers_is_the_block() {
        let cache = SharedCache::default();
        for key in [None, Some("tenant-7"), None] {
            let s = sample(key);
            let shared = cache.get(&s);
            assert!(s.shares(&shared));
            assert_eq!(s.map_from(&shared.map, 42), s.map(42));
            let other = SendHeaders {
                msg_id: "p-abc-2",
                traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b8-00",
                ..sample(key)
            };
            assert!(Arc::ptr_eq(&cache.get(&other), &shared));
            assert_eq!(other.map_from(&shared.map, 43), other.map(43));
            let newer = SendHeaders {
                version: 13,
                ..sample(key)
            };
            assert!(!newer.shares(&shared));
        }
    }

    #[test]
    fn the_default_content_type_is_left_out() {
        let s = SendHeaders {
            content_type: DEFAULT_CONTENT_TYPE,
            ..sample(None)
        };
        let map = s.map(42);
        assert!(map.get(h::CONTENT_TYPE).is_none());
        assert_eq!(map.len(), 7);
        assert_eq!(s.size(42), crate::jsutil::header_map_size(&map));
    }

    #[test]
    fn the_block_carries_every_value() {
        let map = sample(Some("k")).map(42);
        let get = |n: &str| map.get(n).map(|v| v.as_str().to_string());
        assert_eq!(get(h::MSG_ID).as_deref(), Some("p-abc-1"));
        assert_eq!(get(h::PROTOCOL).as_deref(), Some("1"));
        assert_eq!(get(h::TYPE).as_deref(), Some("orders.Created"));
        assert_eq!(get(h::TYPE_VERSION).as_deref(), Some("12"));
        assert_eq!(get(h::CONTENT_TYPE).as_deref(), Some("application/json"));
        assert_eq!(
            get(h::TRACEPARENT).as_deref(),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
        );
        assert_eq!(get(h::PRODUCER).as_deref(), Some("p"));
        assert_eq!(get(h::SENT_AT).as_deref(), Some("42"));
        assert_eq!(get(crate::fairness::HEADER).as_deref(), Some("k"));
    }
}
