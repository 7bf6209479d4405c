//! Helpers shared by the worker and the producer around the async-nats JetStream client.

use crate::error::Error;
use async_nats::jetstream::{self, consumer::PullConsumer, kv, stream::Stream};
use async_nats::HeaderMap;
use std::error::Error as _;

pub const PROVISION_HINT: &str =
    "run provisioning (sluice::provision, scripts/sluice apply or the Java Sluice.provision)";

pub async fn connect(server: &str, name: &str) -> Result<async_nats::Client, Error> {
    async_nats::ConnectOptions::new()
        .name(name)
        .connect(server)
        .await
        .map_err(|e| Error::Nats(format!("cannot connect to {server}: {e}")))
}

/// The named stream, or an error that names it and says to run provisioning (§2).
pub async fn require_stream(js: &jetstream::Context, name: &str) -> Result<Stream, Error> {
    js.get_stream(name)
        .await
        .map_err(|e| Error::NotProvisioned {
            what: format!("stream {name}"),
            cause: e.to_string(),
        })
}

pub async fn require_pull_consumer(
    stream: &mut Stream,
    stream_name: &str,
    name: &str,
) -> Result<PullConsumer, Error> {
    stream
        .get_consumer::<jetstream::consumer::pull::Config>(name)
        .await
        .map_err(|e| Error::NotProvisioned {
            what: format!("consumer {name} on stream {stream_name}"),
            cause: e.to_string(),
        })
}

pub async fn require_kv(js: &jetstream::Context, bucket: &str) -> Result<kv::Store, Error> {
    js.get_key_value(bucket)
        .await
        .map_err(|e| Error::NotProvisioned {
            what: format!("KV bucket {bucket}"),
            cause: e.to_string(),
        })
}

/// The JetStream API error code carried by a publish error, when there is one.
pub fn publish_error_code(e: &jetstream::context::PublishError) -> Option<u64> {
    let mut src = e.source();
    while let Some(s) = src {
        if let Some(api) = s.downcast_ref::<jetstream::Error>() {
            return Some(api.error_code().0);
        }
        src = s.source();
    }
    None
}

/// JetStream error 10077 ("maximum messages exceeded"): the work stream's hard wall (§6 step 5).
pub fn is_hard_limit(e: &jetstream::context::PublishError) -> bool {
    publish_error_code(e) == Some(10077) || e.to_string().contains("10077")
}

/// Header values in order, every value of every header, first values first.
pub fn header_pairs(h: Option<&HeaderMap>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(h) = h {
        for (name, values) in h.iter() {
            for v in values {
                out.push((name.to_string(), v.as_str().to_string()));
            }
        }
    }
    out
}

/// The canonical size of `h` (§8.4, `crate::dlq::header_size`) read in place, without copying
/// the headers out.
pub fn header_map_size(h: &HeaderMap) -> u64 {
    let mut n = 12u64;
    for (name, values) in h.iter() {
        let name: &str = name.as_ref();
        for v in values {
            n += (name.len() + v.as_str().len() + 4) as u64;
        }
    }
    n
}

pub fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(k.as_str(), v.as_str());
    }
    h
}

/// Publishes one credit token (§5.3) with a `Nats-Msg-Id` unique to the minter instance (§5.4:
/// `<minter id>.<instance nonce>.<counter>`), retrying a failed publish with the same id so a
/// lost PubAck cannot mint twice. Returns whether the server confirmed the token.
pub async fn publish_token(
    js: &jetstream::Context,
    subject: String,
    body: bytes::Bytes,
    msg_id: String,
    attempts: u32,
) -> bool {
    for attempt in 1..=attempts.max(1) {
        let mut h = HeaderMap::new();
        h.insert("Nats-Msg-Id", msg_id.as_str());
        let r = match js
            .publish_with_headers(subject.clone(), h, body.clone())
            .await
        {
            Ok(f) => f.await.map(|_| ()),
            Err(e) => Err(e),
        };
        match r {
            Ok(()) => return true,
            Err(e) => {
                crate::log!("mint {subject} (attempt {attempt}, id {msg_id}): {e}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
    false
}

/// A random nonce for one minter instance.
pub fn instance_nonce() -> String {
    format!("{:08x}", rand::random::<u32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_map_size_is_the_canonical_size_of_its_pairs() {
        let mut h = HeaderMap::new();
        h.insert("Nats-Msg-Id", "p-1");
        h.insert("Sluice-Type", "orders.Created");
        h.append("X-Two", "a");
        h.append("X-Two", "bc");
        assert_eq!(
            header_map_size(&h),
            crate::dlq::header_size(&header_pairs(Some(&h)))
        );
        assert_eq!(header_map_size(&HeaderMap::new()), 12);
    }
}
