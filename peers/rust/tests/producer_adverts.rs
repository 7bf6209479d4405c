//! The producer follows its queue's capacity adverts through one watch (§4.3, §5.2), against a
//! real nats-server: the consumers it creates on the capacity bucket's stream, counted from the
//! server's advisories, and the adverts of workers that start and stop after it.

mod common;

use async_nats::jetstream;
use common::*;
use futures_util::StreamExt;
use sluice::{Error, Json, OutgoingMessage, Producer, VersionPolicy};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn job(version: u32, id: &str) -> OutgoingMessage {
    OutgoingMessage::encode("acme.Job", version, &Json::new(), &1u64)
        .unwrap()
        .msg_id(id)
}

/// Counts the consumers created on the capacity bucket's stream (one advisory each).
struct Creations {
    count: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Creations {
    async fn count(server_url: &str) -> Creations {
        let client = async_nats::connect(server_url).await.unwrap();
        let mut sub = client
            .subscribe("$JS.EVENT.ADVISORY.CONSUMER.CREATED.KV_sluice-capacity.>")
            .await
            .unwrap();
        client.flush().await.unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        let task = tokio::spawn(async move {
            let _client = client;
            while sub.next().await.is_some() {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        });
        Creations { count, task }
    }

    fn now(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

impl Drop for Creations {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sending_producer_creates_one_consumer_on_the_capacity_stream() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("oneview");
    provision(&js, &q).await;
    let creations = Creations::count(&server.url).await;
    let running = run_worker(&client, &q, "w1", 1..=1).await;
    advertised(&js, &q, "w1", true).await;
    // The worker's own watch of the other workers.
    eventually("the worker's watch", Duration::from_secs(10), || async {
        creations.now() >= 1
    })
    .await;
    let before = creations.now();
    mint(&js, &q, &[4, 4]).await;
    let producer = Producer::builder(client.clone(), q.clone())
        .producer_id("api-1")
        .acquire_timeout(Duration::from_secs(10))
        .version_policy(VersionPolicy::Fail)
        .build()
        .await
        .unwrap();
    // Long enough for the trusted "handled" answer (a second, §4.3) to expire three times.
    let started = Instant::now();
    let mut sent = 0u32;
    while started.elapsed() < Duration::from_millis(3_600) {
        producer.send(job(1, &format!("m-{sent}"))).await.unwrap();
        sent += 1;
    }
    producer.close().await;
    let created = creations.now() - before;
    assert!(
        created <= 1,
        "the producer created {created} consumers on the capacity stream in {:?} ({sent} sends)",
        started.elapsed()
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_check_follows_workers_that_start_and_stop_after_the_producer() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("followed");
    provision(&js, &q).await;
    let v1 = run_worker(&client, &q, "v1-only", 1..=1).await;
    advertised(&js, &q, "v1-only", true).await;
    mint(&js, &q, &[1, 1]).await;
    let producer = Producer::builder(client.clone(), q.clone())
        .producer_id("api-1")
        .acquire_timeout(Duration::from_secs(10))
        .version_policy(VersionPolicy::Fail)
        .build()
        .await
        .unwrap();
    // Right after the start, the adverts that already exist are seen.
    match producer.send(job(2, "before")).await {
        Err(Error::VersionNotHandled { live, .. }) => {
            assert_eq!(live, vec!["acme.Job@1-1".to_string()])
        }
        r => panic!("a version-2 send with only a version-1 worker: {r:?}"),
    }

    // A worker that handles version 2 starts after the producer: its advert comes through the
    // watch, and the refused pair is checked again at the next send.
    let v2 = run_worker(&client, &q, "v2-only", 2..=2).await;
    advertised(&js, &q, "v2-only", true).await;
    eventually("a version-2 send accepted", Duration::from_secs(5), || {
        let producer = &producer;
        async move { producer.send(job(2, "after-start")).await.is_ok() }
    })
    .await;
    let answered = Instant::now();

    // It stops: its advert is deleted and leaves the view.
    v2.stop().await;
    advertised(&js, &q, "v2-only", false).await;
    // The rule's own time, not a stand-in for an outcome: a "handled" answer is trusted for at
    // most a second (§4.3).
    tokio::time::sleep_until((answered + Duration::from_secs(1)).into()).await;
    match producer.send(job(2, "after-stop")).await {
        Err(Error::VersionNotHandled { live, .. }) => {
            assert_eq!(live, vec!["acme.Job@1-1".to_string()])
        }
        r => panic!("a version-2 send after the version-2 worker stopped: {r:?}"),
    }
    producer.close().await;
    v1.stop().await;
}
