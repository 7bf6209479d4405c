//! The §2 topology of one queue, created for a benchmark run on its own server.

use async_nats::jetstream::{self, consumer, stream};
use sluice::__internal::names;
use std::time::Duration;

/// Creates the work stream, the credit and dead-letter streams, the consumers and the KV buckets
/// of queue `q` (§2); panics with the server's answer when it cannot.
pub async fn queue(js: &jetstream::Context, q: &str) {
    let ack_wait = Duration::from_secs(30);
    js.create_stream(stream::Config {
        name: names::work_stream(q),
        subjects: vec![names::work_subject(q)],
        retention: stream::RetentionPolicy::WorkQueue,
        discard: stream::DiscardPolicy::New,
        max_messages: 100_000,
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(120),
        max_message_size: 1 << 20,
        ..Default::default()
    })
    .await
    .expect("work stream");
    js.create_consumer_on_stream(
        consumer::pull::Config {
            durable_name: Some(names::WORKER_CONSUMER.into()),
            ack_policy: consumer::AckPolicy::Explicit,
            max_deliver: -1,
            max_ack_pending: 10_000,
            ack_wait,
            max_waiting: 512,
            ..Default::default()
        },
        names::work_stream(q),
    )
    .await
    .expect("workers consumer");
    js.create_stream(stream::Config {
        name: names::CREDIT_STREAM.into(),
        subjects: vec!["sluice.credit.>".into()],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .expect("credit stream");
    js.create_consumer_on_stream(
        consumer::pull::Config {
            durable_name: Some(names::credit_consumer(q)),
            ack_policy: consumer::AckPolicy::Explicit,
            filter_subject: names::credit_filter(q),
            max_deliver: -1,
            ack_wait: Duration::from_secs(10),
            max_waiting: 512,
            ..Default::default()
        },
        names::CREDIT_STREAM,
    )
    .await
    .expect("credit consumer");
    js.create_stream(stream::Config {
        name: names::DLQ_STREAM.into(),
        subjects: vec!["sluice.dlq.>".into()],
        retention: stream::RetentionPolicy::Limits,
        max_age: Duration::from_secs(30 * 24 * 3600),
        duplicate_window: Duration::from_secs(600),
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .expect("dlq stream");
    for (bucket, max_age) in [
        (names::CAPACITY_BUCKET, Duration::from_secs(60)),
        (names::CONTROL_BUCKET, Duration::ZERO),
        (names::PROCESSED_BUCKET, Duration::from_secs(3600)),
    ] {
        // The bucket's stream, declared as §2 and jetstream-config/ do. (create_key_value's
        // request is not understood by nats-server 2.9, the oldest server Sluice supports.)
        js.create_stream(stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            retention: stream::RetentionPolicy::Limits,
            max_messages_per_subject: 1,
            max_age,
            discard: stream::DiscardPolicy::New,
            storage: stream::StorageType::File,
            duplicate_window: if max_age.is_zero() || max_age > Duration::from_secs(120) {
                Duration::from_secs(120)
            } else {
                max_age
            },
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("bucket {bucket}: {e}"));
    }
}

/// Mints `credits` for queue `q` as provisioning does on a fresh queue (§5.5 bootstrap), for a
/// run without a reconciler.
pub async fn bootstrap(js: &jetstream::Context, q: &str, credits: u64) {
    use prost::Message as _;
    use sluice::__internal::credits::decompose;
    use sluice::__internal::proto::{CreditToken, MintReason};
    for n in decompose(credits, 32) {
        let body = CreditToken {
            credits: n,
            minted_by: "provision".into(),
            minted_unix_ms: sluice::__internal::now_unix_ms(),
            reason: MintReason::Bootstrap as i32,
        };
        js.publish(names::credit_subject(q, n), body.encode_to_vec().into())
            .await
            .expect("bootstrap token")
            .await
            .expect("bootstrap token stored");
    }
}
