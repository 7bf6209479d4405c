//! Circuit-breaker probes against a real nats-server (PROTOCOL.md §7.6 "Probes"): a lone
//! worker, its reconciler running as in a real fleet, whose handler fails until its dependency
//! comes back. Every failed message is dead-lettered at its first attempt, so the queue drains
//! while the circuit is open.

mod common;

use async_nats::jetstream;
use async_nats::jetstream::consumer::PullConsumer;
use common::*;
use prost::Message as _;
use sluice::__internal::headers;
use sluice::__internal::names;
use sluice::__internal::proto::{CapacityAdvert, WorkerState};
use sluice::{HandlerError, Json, OutgoingMessage, Producer, Worker, WorkerEvent};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FAILURES: usize = 3;

type Events = Arc<Mutex<Vec<WorkerEvent>>>;

/// A running lone worker of `acme.Probe` and what a test watches of it.
struct Lone {
    js: jetstream::Context,
    q: String,
    events: Events,
    healthy: Arc<AtomicBool>,
    running: Running,
}

async fn lone_worker(client: &async_nats::Client, prefix: &str, delay: Duration) -> Lone {
    let js = jetstream::new(client.clone());
    let q = unique(prefix);
    provision(&js, &q).await;
    let events: Events = Default::default();
    let healthy = Arc::new(AtomicBool::new(false));
    let (sink, up) = (events.clone(), healthy.clone());
    let worker = Worker::builder(client.clone(), &q)
        .worker_id("lone")
        .reconciler(Some(Duration::from_millis(300)))
        .heartbeat(Duration::from_millis(200))
        .concurrency(2)
        .max_attempts(1)
        .circuit_breaker(FAILURES, 5, delay)
        .handle(
            "acme.Probe",
            1..=1,
            Json::<String>::new(),
            move |_: String, _| {
                let up = up.clone();
                async move {
                    if up.load(Ordering::SeqCst) {
                        Ok(())
                    } else {
                        Err(HandlerError::retry("the dependency is down"))
                    }
                }
            },
        )
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .await
        .unwrap();
    Lone {
        js,
        q,
        events,
        healthy,
        running: run(worker),
    }
}

impl Lone {
    fn count(&self, f: impl Fn(&WorkerEvent) -> bool) -> usize {
        self.events.lock().unwrap().iter().filter(|e| f(e)).count()
    }

    fn dead_letters(&self) -> usize {
        self.count(|e| matches!(e, WorkerEvent::DeadLettered { .. }))
    }

    fn processed(&self, id: &str) -> bool {
        self.count(|e| matches!(e, WorkerEvent::Processed { msg_id, .. } if msg_id == id)) > 0
    }

    async fn advert(&self) -> Option<CapacityAdvert> {
        let kv = self.js.get_key_value(names::CAPACITY_BUCKET).await.unwrap();
        let b = kv.get(names::capacity_key(&self.q, "lone")).await.ok()??;
        CapacityAdvert::decode(b.as_ref()).ok()
    }

    async fn in_state(&self, state: WorkerState) -> bool {
        self.advert().await.is_some_and(|a| a.state == state as i32)
    }

    /// Stores a message on the work stream without a credit.
    async fn publish(&self, id: Option<&str>) {
        let mut h = async_nats::HeaderMap::new();
        if let Some(id) = id {
            h.insert(headers::MSG_ID, id);
        }
        h.insert(headers::PROTOCOL, "1");
        h.insert(headers::TYPE, "acme.Probe");
        h.insert(headers::TYPE_VERSION, "1");
        self.js
            .publish_with_headers(names::work_subject(&self.q), h, "\"x\"".into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    /// Opens the circuit with failing messages that are all dead-lettered: the queue is empty,
    /// the worker advertises CIRCUIT_OPEN with capacity 0, and the reconciler has burned the
    /// credits of the window that closed.
    async fn open_and_drain(&self) {
        for i in 0..FAILURES + 2 {
            self.publish(Some(&format!("fails-{i}"))).await;
        }
        eventually(
            "every failed message dead-lettered, the queue empty, the circuit open",
            Duration::from_secs(15),
            || async {
                self.dead_letters() == FAILURES + 2
                    && backlog(&self.js, &self.q).await == 0
                    && self.advert().await.is_some_and(|a| {
                        a.state == WorkerState::CircuitOpen as i32 && a.capacity == 0
                    })
            },
        )
        .await;
        eventually(
            "no credit left for the queue",
            Duration::from_secs(10),
            || async { stored_credits(&self.js, &self.q).await == 0 },
        )
        .await;
    }

    async fn stop(self) {
        self.running.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_workers_circuit_closes_when_its_probe_finds_the_queue_empty() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let w = lone_worker(&client, "probe-empty", Duration::from_millis(500)).await;
    w.open_and_drain().await;
    w.healthy.store(true, Ordering::SeqCst);
    let p = Producer::builder(client.clone(), &w.q)
        .acquire_timeout(Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    // Without the rule the probe waits for a message that no producer can send: the open worker
    // advertises capacity 0, its reconciler mints nothing for the queue it serves alone, and this
    // send fails with Error::CreditTimeout, now and at every retry, until the worker restarts.
    let msg = OutgoingMessage::encode("acme.Probe", 1, &Json::new(), &"x".to_string())
        .unwrap()
        .msg_id("after-the-outage");
    p.send(msg).await.unwrap();
    eventually("the send processed", Duration::from_secs(20), || async {
        w.processed("after-the-outage")
    })
    .await;
    eventually("a RUNNING advert", Duration::from_secs(5), || async {
        w.advert()
            .await
            .is_some_and(|a| a.state == WorkerState::Running as i32 && a.capacity > 0)
    })
    .await;
    p.close().await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_settled_without_a_handler_run_lets_the_next_message_probe() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    // A delay longer than a pull request lives: the requests made before the circuit opened
    // expire, and both messages are queued before the first probe pull.
    let w = lone_worker(&client, "probe-no-run", Duration::from_secs(8)).await;
    w.open_and_drain().await;
    let stream = w.js.get_stream(names::work_stream(&w.q)).await.unwrap();
    let consumer: PullConsumer = stream.get_consumer(names::WORKER_CONSUMER).await.unwrap();
    eventually(
        "no pull request waiting while the circuit is open",
        Duration::from_secs(8),
        || async {
            consumer.get_info().await.unwrap().num_waiting == 0
                && w.in_state(WorkerState::CircuitOpen).await
        },
    )
    .await;
    // The first probe takes a message without an id: dead-lettered, no handler run, so it tells
    // nothing about the dependency.
    w.publish(None).await;
    w.publish(Some("good")).await;
    w.healthy.store(true, Ordering::SeqCst);
    // Without the rule the malformed message keeps the only probe for ever: the good message
    // stays queued and the circuit open, capacity 0, until the worker restarts.
    eventually(
        "the good message processed",
        Duration::from_secs(20),
        || async { w.processed("good") },
    )
    .await;
    assert_eq!(w.dead_letters(), FAILURES + 3);
    eventually("a RUNNING advert", Duration::from_secs(5), || async {
        w.in_state(WorkerState::Running).await
    })
    .await;
    w.stop().await;
}
