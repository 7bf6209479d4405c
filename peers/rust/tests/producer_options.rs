//! The producer's publish timeout and version policy (PROTOCOL.md §4.3), with the meaning of the
//! Go library's `WithPublishTimeout` and `WithVersionPolicy`, against a real nats-server.

mod common;

use async_nats::jetstream;
use common::*;
use futures_util::StreamExt;
use sluice::__internal::names;
use sluice::{Error, Json, OutgoingMessage, Producer, VersionPolicy, Worker};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::instrument::WithSubscriber;

fn job(version: u32, id: &str) -> OutgoingMessage {
    OutgoingMessage::encode("acme.Job", version, &Json::new(), &1u64)
        .unwrap()
        .msg_id(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_with_no_puback_is_retried_every_publish_timeout_then_fails() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("pubtimeout");
    provision(&js, &q).await;
    mint(&js, &q, &[1]).await;
    let producer = Producer::builder(client.clone(), q.clone())
        .producer_id("api-1")
        .acquire_timeout(Duration::from_secs(1))
        .publish_timeout(Duration::from_millis(200))
        .build()
        .await
        .unwrap();
    // The work stream goes; a subscriber that never answers takes its subject, so every publish
    // reaches a listener and waits for a PubAck that never comes.
    js.delete_stream(names::work_stream(&q)).await.unwrap();
    let mut sub = client.subscribe(names::work_subject(&q)).await.unwrap();
    client.flush().await.unwrap();
    let ids: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = ids.clone();
    let listener = tokio::spawn(async move {
        while let Some(m) = sub.next().await {
            let id = m
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.to_string())
                .unwrap_or_default();
            seen.lock().unwrap().push(id);
        }
    });
    let started = Instant::now();
    let err = producer.send(job(1, "job-1")).await.unwrap_err();
    let took = started.elapsed();
    match &err {
        Error::Publish { msg_id, reason } => {
            assert_eq!(msg_id, "job-1");
            assert!(
                reason.contains("no PubAck within the publish timeout of 200 ms"),
                "{reason}"
            );
        }
        e => panic!("expected Error::Publish, got {e}"),
    }
    // Retried with the same id until the retry horizon (the acquire timeout, at least 10 s):
    // about one attempt per publish timeout, where the default of 5 s allows 3.
    assert!(took >= Duration::from_secs(10), "gave up after {took:?}");
    let ids = ids.lock().unwrap().clone();
    assert!(
        (10..=51).contains(&ids.len()),
        "{} attempts in {took:?}",
        ids.len()
    );
    assert!(ids.iter().all(|id| id == "job-1"), "{ids:?}");
    listener.abort();
    producer.close().await;
}

/// A `tracing` writer that keeps what was logged.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn count(&self, what: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .matches(what)
            .count()
    }
}

async fn sends_logged(
    client: &async_nats::Client,
    q: &str,
    policy: VersionPolicy,
    ids: &[&str],
) -> (Vec<sluice::Result<sluice::SendReceipt>>, Logs) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .finish();
    let producer = Producer::builder(client.clone(), q)
        .producer_id(format!("api-{policy:?}"))
        .acquire_timeout(Duration::from_secs(10))
        .version_policy(policy)
        .build()
        .await
        .unwrap();
    let mut results = Vec::new();
    async {
        for id in ids {
            results.push(producer.send(job(2, id)).await);
        }
    }
    .with_subscriber(subscriber)
    .await;
    producer.close().await;
    (results, logs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_policy_refuses_warns_once_or_allows() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("versions");
    provision(&js, &q).await;
    // The only live worker handles acme.Job version 1; every send below is version 2.
    let worker = Worker::builder(client.clone(), q.clone())
        .worker_id("v1-only")
        .reconciler(None)
        .handle("acme.Job", 1..=1, Json::<u64>::new(), |_n: u64, _| async {
            Ok(())
        })
        .build()
        .await
        .unwrap();
    let running = run(worker);
    advertised(&js, &q, "v1-only", true).await;
    mint(&js, &q, &[1, 1, 1]).await;
    const NOT_HANDLED: &str = "no live worker handles acme.Job version 2";

    let (results, logs) = sends_logged(&client, &q, VersionPolicy::Fail, &["fail-1"]).await;
    match &results[0] {
        Err(Error::VersionNotHandled {
            type_name,
            version,
            live,
        }) => assert_eq!(
            (type_name.as_str(), *version, live.clone()),
            ("acme.Job", 2, vec!["acme.Job@1-1".to_string()])
        ),
        r => panic!("FAIL sent: {r:?}"),
    }
    assert_eq!(logs.count(NOT_HANDLED), 0);

    // WARN: both sent, one warning.
    let (results, logs) =
        sends_logged(&client, &q, VersionPolicy::Warn, &["warn-1", "warn-2"]).await;
    for r in &results {
        assert!(r.is_ok(), "WARN refused: {r:?}");
    }
    assert_eq!(logs.count(NOT_HANDLED), 1);
    assert_eq!(logs.count("sending anyway"), 1);

    // ALLOW: sent without a word.
    let (results, logs) = sends_logged(&client, &q, VersionPolicy::Allow, &["allow-1"]).await;
    assert!(results[0].is_ok(), "ALLOW refused: {:?}", results[0]);
    assert_eq!(logs.count(NOT_HANDLED), 0);

    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_timeout_of_zero_is_refused() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let err = Producer::builder(client, "orders")
        .publish_timeout(Duration::ZERO)
        .build()
        .await
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "publish_timeout",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_the_fleet_stops_handling_is_refused_after_the_deploy() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("redeploy");
    provision(&js, &q).await;
    let running = run_worker(&client, &q, "v1-only", 1..=1).await;
    advertised(&js, &q, "v1-only", true).await;
    mint(&js, &q, &[1, 1]).await;
    let producer = Producer::builder(client.clone(), q.clone())
        .producer_id("api-1")
        .acquire_timeout(Duration::from_secs(10))
        .version_policy(VersionPolicy::Fail)
        .build()
        .await
        .unwrap();
    producer.send(job(1, "before")).await.unwrap();
    // The producer read the adverts, and trusted what it read, before the send returned.
    let answered = Instant::now();

    // The fleet is redeployed: the version-1 worker leaves, one that handles only version 2
    // comes up.
    running.stop().await;
    advertised(&js, &q, "v1-only", false).await;
    let running = run_worker(&client, &q, "v2-only", 2..=2).await;
    advertised(&js, &q, "v2-only", true).await;
    // The rule's own time, not a stand-in for an outcome: a "handled" answer is trusted for at
    // most a second (§4.3).
    tokio::time::sleep_until((answered + Duration::from_secs(1)).into()).await;

    // Trusting the first answer for ever would send this one to a fleet that cannot handle it:
    // it would wait out the grace period and be dead-lettered instead of refused at the send.
    match producer.send(job(1, "after")).await {
        Err(Error::VersionNotHandled { version, live, .. }) => {
            assert_eq!((version, live), (1, vec!["acme.Job@2-2".to_string()]))
        }
        r => panic!("a version-1 send after the deploy was not refused: {r:?}"),
    }
    producer.close().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_stream_refuses_fails_at_once_and_gives_its_credit_back() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("refused");
    provision(&js, &q).await;
    let producer = Producer::builder(client.clone(), q.clone())
        .producer_id("api-1")
        .acquire_timeout(Duration::from_secs(2))
        .build()
        .await
        .unwrap();
    // The stream's message size is lowered after the producer read it: the producer's own size
    // check lets the large send through, and the server refuses it (a JetStream error in the
    // PubAck), a definite answer.
    let mut stream = js.get_stream(names::work_stream(&q)).await.unwrap();
    let mut config = stream.info().await.unwrap().config.clone();
    config.max_message_size = 1_000;
    js.update_stream(config).await.unwrap();
    mint(&js, &q, &[1]).await;

    let large = OutgoingMessage::encode("acme.Job", 1, &Json::new(), &"x".repeat(2_000))
        .unwrap()
        .msg_id("large");
    match producer.send(large).await {
        Err(Error::Publish { msg_id, reason }) => {
            assert_eq!(msg_id, "large");
            assert!(reason.contains("refused"), "{reason}");
        }
        r => panic!("a message the stream refuses: {r:?}"),
    }
    // The only credit came back: a refusal stored nothing. Kept spent, it would be lost until
    // the reconciler noticed, and this send would wait out its acquire timeout.
    producer.send(job(1, "small")).await.unwrap();
    producer.close().await;
}

/// A send that no stream answers (NATS "no responders": the work stream is missing, or a
/// clustered stream is electing its leader) is retried with the same id, as the Java and Go
/// producers do (§6 step 5), and lands once the stream answers again. Failing at once, as this
/// producer did, would drop the send during every leader election of a clustered queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_no_stream_answers_is_retried_until_the_stream_is_back() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("nostream");
    provision(&js, &q).await;
    let producer = Producer::builder(client.clone(), q.clone())
        .producer_id("api-1")
        .acquire_timeout(Duration::from_secs(5))
        .build()
        .await
        .unwrap();
    mint(&js, &q, &[1]).await;
    js.delete_stream(names::work_stream(&q)).await.unwrap();

    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .finish();
    let sending = tokio::spawn(
        async move {
            let r = producer.send(job(1, "while-gone")).await;
            producer.close().await;
            r
        }
        .with_subscriber(subscriber),
    );
    eventually("the send retrying", Duration::from_secs(5), || {
        let logs = logs.clone();
        async move { logs.count("no stream answered; retrying") == 1 }
    })
    .await;
    provision(&js, &q).await;
    let receipt = sending
        .await
        .unwrap()
        .expect("the send lands once the stream is back");
    assert!(!receipt.duplicate);
    assert_eq!(backlog(&js, &q).await, 1, "the message is stored once");
}
