//! `sluice::provision` against a real nats-server: a Rust-only fleet sets up its own queue.

mod common;

use async_nats::jetstream;
use common::*;
use prost::Message as _;
use sluice::__internal::names;
use sluice::__internal::proto::QueueSettings;
use sluice::{Error, Json, OutgoingMessage, Producer, QueueConfig, Worker};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

async fn settings(js: &jetstream::Context, q: &str) -> QueueSettings {
    let control = js.get_key_value(names::CONTROL_BUCKET).await.unwrap();
    let entry = control.get(names::settings_key(q)).await.unwrap().unwrap();
    QueueSettings::decode(entry.as_ref()).unwrap()
}

// A fresh queue gets its standing buffer once; provisioning again must not mint it again (a
// second mint would let producers put twice the window in the queue) nor lose a setting an
// operator wrote (the rate limit would silently vanish).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_twice_mints_the_standing_buffer_once_and_keeps_other_settings() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("prov");
    let config = QueueConfig::default().standing_buffer(20).token_batch(8);

    sluice::provision(&js, &q, &config).await.unwrap();
    assert_eq!(stored_credits(&js, &q).await, 20);
    let mut s = settings(&js, &q).await;
    assert_eq!((s.token_batch, s.standing_buffer), (8, 20));

    s.rate_per_second = 500.0;
    let control = js.get_key_value(names::CONTROL_BUCKET).await.unwrap();
    control
        .put(names::settings_key(&q), s.encode_to_vec().into())
        .await
        .unwrap();

    sluice::provision(&js, &q, &config).await.unwrap();
    assert_eq!(
        stored_credits(&js, &q).await,
        20,
        "the second run minted again"
    );
    let again = settings(&js, &q).await;
    assert_eq!(
        again.rate_per_second, 500.0,
        "the operator's rate limit was lost"
    );
    assert_eq!((again.token_batch, again.standing_buffer), (8, 20));
}

// A queue provisioned from Rust alone carries work from a Rust producer to a Rust worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_provisioned_from_rust_carries_work() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("provwork");
    sluice::provision(&js, &q, &QueueConfig::default())
        .await
        .unwrap();

    let done = Arc::new(AtomicU64::new(0));
    let seen = done.clone();
    let worker = Worker::builder(client.clone(), q.clone())
        .worker_id("prov-worker")
        .reconciler(Some(Duration::from_millis(300)))
        .handle("t.Job", 1..=1, Json::<u64>::new(), move |_n: u64, _ctx| {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .build()
        .await
        .unwrap();
    let running = run(worker);
    let producer = Producer::builder(client.clone(), q.clone())
        .producer_id("prov-producer")
        .build()
        .await
        .unwrap();
    for i in 0..10u64 {
        producer
            .send(OutgoingMessage::encode("t.Job", 1, &Json::new(), &i).unwrap())
            .await
            .unwrap();
    }
    eventually("10 jobs processed", Duration::from_secs(20), || {
        let n = done.load(Ordering::SeqCst);
        async move { n == 10 }
    })
    .await;
    producer.close().await;
    running.stop().await;
}

// Bad settings are refused before anything is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_are_refused_naming_the_option() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client);
    let err = sluice::provision(&js, "bad.name", &QueueConfig::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "queue",
                ..
            }
        ),
        "{err}"
    );
    let err = sluice::provision(&js, "q1", &QueueConfig::default().token_batch(24))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "token_batch",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        js.get_stream(names::work_stream("q1")).await.is_err(),
        "a refused provisioning created the work stream"
    );
}
