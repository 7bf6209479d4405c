//! Helpers shared by the worker and the producer around the async-nats JetStream client.

use async_nats::jetstream::{self, consumer::PullConsumer, kv, stream::Stream};
use async_nats::HeaderMap;
use std::error::Error as _;

pub const PROVISION_HINT: &str = "run provisioning (scripts/sluice apply or Sluice.provision)";

pub async fn connect(server: &str, name: &str) -> Result<async_nats::Client, String> {
    async_nats::ConnectOptions::new()
        .name(name)
        .connect(server)
        .await
        .map_err(|e| format!("cannot connect to {server}: {e}"))
}

/// The named stream, or an error that names it and says to run provisioning (§2).
pub async fn require_stream(js: &jetstream::Context, name: &str) -> Result<Stream, String> {
    js.get_stream(name)
        .await
        .map_err(|e| format!("stream {name} is missing or unreadable ({e}): {PROVISION_HINT}"))
}

pub async fn require_pull_consumer(
    stream: &mut Stream,
    stream_name: &str,
    name: &str,
) -> Result<PullConsumer, String> {
    stream
        .get_consumer::<jetstream::consumer::pull::Config>(name)
        .await
        .map_err(|e| format!("consumer {name} on stream {stream_name} is missing or unreadable ({e}): {PROVISION_HINT}"))
}

pub async fn require_kv(js: &jetstream::Context, bucket: &str) -> Result<kv::Store, String> {
    js.get_key_value(bucket)
        .await
        .map_err(|e| format!("KV bucket {bucket} is missing or unreadable ({e}): {PROVISION_HINT}"))
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

pub fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(k.as_str(), v.as_str());
    }
    h
}
