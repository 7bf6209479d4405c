//! The shared idempotency store (PROTOCOL.md §9, revision 1.2): `<q>.<id-key>` records in the
//! `sluice-processed` bucket, written with a KV *create* before the finishing ack and read
//! through the stream leader.
//!
//! Both are plain JetStream requests rather than the async-nats KV calls: its KV *get* is a
//! direct get when the bucket allows it (any replica answers, and one catching up says "not
//! found" for a record the leader has), and its *create* maps only error 10071 to "key exists"
//! and then reads the key again by direct get, where the protocol wants 10071 and 10164 (the code
//! of nats-server 2.11 and later) recognized as they are.

use crate::jsutil::publish_error_code;
use crate::names::PROCESSED_BUCKET;
use async_nats::jetstream::{self, stream::LastRawMessageErrorKind, stream::Stream};
use async_nats::HeaderMap;

/// A create that found the key: "wrong last sequence" (nats-server 2.9 and 2.10) and its
/// constant form (2.11 and later).
pub const KEY_EXISTS_CODES: [u64; 2] = [10071, 10164];

/// Whether a create error with JetStream code `code` means the record is already there.
pub fn is_key_exists(code: Option<u64>) -> bool {
    code.is_some_and(|c| KEY_EXISTS_CODES.contains(&c))
}

/// Whether the last message of a key, with these headers, is a record (not a delete or purge
/// marker).
pub fn is_record(headers: &HeaderMap) -> bool {
    !matches!(
        headers.get("KV-Operation").map(|v| v.as_str()),
        Some("DEL") | Some("PURGE")
    )
}

/// One queue's view of the `sluice-processed` bucket.
pub struct SharedStore {
    js: jetstream::Context,
    stream: Stream,
    queue: String,
}

impl SharedStore {
    /// The store of `queue`; fails when the bucket's stream is missing (§2).
    pub async fn open(js: &jetstream::Context, queue: &str) -> Result<Self, crate::Error> {
        let stream = crate::jsutil::require_stream(js, &format!("KV_{PROCESSED_BUCKET}")).await?;
        Ok(SharedStore {
            js: js.clone(),
            stream,
            queue: queue.to_string(),
        })
    }

    fn subject(&self, id_key: &str) -> String {
        format!("$KV.{PROCESSED_BUCKET}.{}.{id_key}", self.queue)
    }

    /// Whether the message with `id_key` was processed: a `STREAM.MSG.GET` request with
    /// `last_by_subj`, which the stream leader answers (never a direct get). Error 10037 (no
    /// message) and a delete or purge marker mean not processed.
    pub async fn seen(&self, id_key: &str) -> Result<bool, String> {
        match self
            .stream
            .get_last_raw_message_by_subject(&self.subject(id_key))
            .await
        {
            Ok(m) => Ok(is_record(&m.headers)),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(false),
            Err(e) => Err(format!("reading {PROCESSED_BUCKET}: {e}")),
        }
    }

    /// One try of the KV create of `id_key` with `value` (`<worker_id> <unix_ms>`): a publish
    /// expecting no earlier message on the key. A "key exists" answer counts as recorded:
    /// another worker finished the message, or an earlier try of this one was stored and its
    /// answer lost (§7.5).
    pub async fn create(&self, id_key: &str, value: String) -> Result<(), String> {
        let mut h = HeaderMap::new();
        h.insert("Nats-Expected-Last-Subject-Sequence", "0");
        let r = match self
            .js
            .publish_with_headers(self.subject(id_key), h, value.into())
            .await
        {
            Ok(ack) => ack.await.map(|_| ()),
            Err(e) => Err(e),
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) if is_key_exists(publish_error_code(&e)) => Ok(()),
            Err(e) => Err(format!("recording in {PROCESSED_BUCKET}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_key_exists_codes_count_as_recorded() {
        assert!(is_key_exists(Some(10071)));
        assert!(is_key_exists(Some(10164)));
        assert!(!is_key_exists(Some(10077)));
        assert!(!is_key_exists(None));
    }

    #[test]
    fn delete_and_purge_markers_are_not_records() {
        let mut h = HeaderMap::new();
        assert!(is_record(&h));
        h.insert("KV-Operation", "DEL");
        assert!(!is_record(&h));
        let mut h = HeaderMap::new();
        h.insert("KV-Operation", "PURGE");
        assert!(!is_record(&h));
    }
}
