//! The full worker's options (PROTOCOL.md §11) against a real nats-server: the shared
//! idempotency store (§9), the circuit breaker (§7.6) and the latency-target capacity (§5.2).

mod common;

use async_nats::jetstream;
use common::*;
use prost::Message as _;
use sluice::__internal::idempotency::store_key;
use sluice::__internal::names;
use sluice::__internal::proto::{CapacityAdvert, WorkerState};
use sluice::{
    Error, HandlerError, Json, NakReason, OutgoingMessage, Producer, Worker, WorkerBuilder,
    WorkerEvent,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PROCESSED_STREAM: &str = "KV_sluice-processed";

type Events = Arc<Mutex<Vec<WorkerEvent>>>;
type Calls = Arc<Mutex<Vec<String>>>;

/// A worker of `acme.Pay` whose handler records the ids it runs, rejects "reject" and fails
/// while `failing` is set.
fn pay_worker(
    client: &async_nats::Client,
    q: &str,
    calls: &Calls,
    failing: &Arc<AtomicBool>,
    events: &Events,
) -> WorkerBuilder {
    let (calls, failing, sink) = (calls.clone(), failing.clone(), events.clone());
    Worker::builder(client.clone(), q)
        .worker_id("full-1")
        .reconciler(Some(Duration::from_millis(300)))
        .heartbeat(Duration::from_millis(200))
        .backoff_initial(Duration::from_millis(50))
        .handle(
            "acme.Pay",
            1..=1,
            Json::<String>::new(),
            move |what: String, ctx| {
                let (calls, failing) = (calls.clone(), failing.clone());
                async move {
                    calls.lock().unwrap().push(ctx.msg_id().to_string());
                    if what == "reject" {
                        return Err(HandlerError::reject("a bad payment"));
                    }
                    if failing.load(Ordering::SeqCst) {
                        return Err(HandlerError::retry("the bank is down"));
                    }
                    Ok(())
                }
            },
        )
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
}

fn pay(id: &str, what: &str) -> OutgoingMessage {
    OutgoingMessage::encode("acme.Pay", 1, &Json::new(), &what.to_string())
        .unwrap()
        .msg_id(id)
}

async fn producer(client: &async_nats::Client, q: &str) -> Producer {
    Producer::builder(client.clone(), q)
        .producer_id("full-p")
        .acquire_timeout(Duration::from_secs(20))
        .build()
        .await
        .unwrap()
}

fn has(events: &Events, f: impl Fn(&WorkerEvent) -> bool) -> bool {
    events.lock().unwrap().iter().any(f)
}

fn processed(events: &Events, id: &str) -> bool {
    has(
        events,
        |e| matches!(e, WorkerEvent::Processed { msg_id, .. } if msg_id == id),
    )
}

async fn advert(js: &jetstream::Context, q: &str, worker_id: &str) -> Option<CapacityAdvert> {
    let kv = js.get_key_value(names::CAPACITY_BUCKET).await.unwrap();
    let b = kv.get(names::capacity_key(q, worker_id)).await.ok()??;
    CapacityAdvert::decode(b.as_ref()).ok()
}

/// The value of a `sluice-processed` record, read from the stream leader.
async fn record(js: &jetstream::Context, q: &str, msg_id: &str) -> Option<String> {
    let s = js.get_stream(PROCESSED_STREAM).await.unwrap();
    let subject = format!("$KV.{}.{}", names::PROCESSED_BUCKET, store_key(q, msg_id));
    let m = s.get_last_raw_message_by_subject(&subject).await.ok()?;
    Some(String::from_utf8(m.payload.to_vec()).unwrap())
}

/// Writes the record another worker would have written for `msg_id`.
async fn put_record(js: &jetstream::Context, q: &str, msg_id: &str) {
    let kv = js.get_key_value(names::PROCESSED_BUCKET).await.unwrap();
    kv.create(store_key(q, msg_id), "other-worker 1".into())
        .await
        .unwrap();
}

async fn set_max_messages(js: &jetstream::Context, n: i64) {
    let mut s = js.get_stream(PROCESSED_STREAM).await.unwrap();
    let mut cfg = s.info().await.unwrap().config.clone();
    cfg.max_messages = n;
    js.update_stream(cfg).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_store_skips_ids_another_worker_recorded_and_records_its_own() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("fence");
    provision(&js, &q).await;
    // Processed elsewhere: a plain id, and one whose key is its SHA-256 (§9).
    put_record(&js, &q, "pay-2").await;
    put_record(&js, &q, "order:7/a").await;
    assert!(store_key(&q, "order:7/a").starts_with(&format!("{q}.=")));

    let (calls, events): (Calls, Events) = Default::default();
    let worker = pay_worker(&client, &q, &calls, &Default::default(), &events)
        .shared_idempotency(true)
        .build()
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let p = producer(&client, &q).await;
    for id in ["pay-1", "pay-2", "order:7/a"] {
        p.send(pay(id, "ok")).await.unwrap();
    }
    eventually("the three settled", Duration::from_secs(20), || async {
        processed(&events, "pay-1")
            && ["pay-2", "order:7/a"].iter().all(|id| {
                has(
                    &events,
                    |e| matches!(e, WorkerEvent::Duplicate { msg_id } if msg_id == id),
                )
            })
    })
    .await;
    assert_eq!(*calls.lock().unwrap(), ["pay-1"], "recorded ids never ran");
    assert_eq!(backlog(&js, &q).await, 0);
    let value = record(&js, &q, "pay-1").await.expect("pay-1 recorded");
    let (who, at) = value.split_once(' ').unwrap();
    assert_eq!(who, "full-1");
    assert!(at.parse::<i64>().unwrap() > 1_700_000_000_000, "{value}");

    p.close().await;
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_is_not_acked_before_its_record_is_stored() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("hold");
    provision(&js, &q).await;
    // The bucket holds one record and takes no more (discard new): every create fails.
    put_record(&js, &q, "filler").await;
    set_max_messages(&js, 1).await;

    let (calls, events): (Calls, Events) = Default::default();
    let worker = pay_worker(&client, &q, &calls, &Default::default(), &events)
        .shared_idempotency(true)
        .build()
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let p = producer(&client, &q).await;
    p.send(pay("held-1", "ok")).await.unwrap();
    eventually(
        "the advert names the store",
        Duration::from_secs(20),
        || async {
            advert(&js, &q, "full-1")
                .await
                .is_some_and(|a| a.problem.starts_with("idempotency-store: "))
        },
    )
    .await;
    assert_eq!(*calls.lock().unwrap(), ["held-1"]);
    assert!(!processed(&events, "held-1"), "acked before its record");
    assert_eq!(backlog(&js, &q).await, 1, "the message is still held");
    assert!(has(&events, |e| matches!(
        e,
        WorkerEvent::Health { problem: Some(_) }
    )));

    set_max_messages(&js, -1).await;
    eventually("acked once recorded", Duration::from_secs(20), || async {
        processed(&events, "held-1")
    })
    .await;
    assert!(record(&js, &q, "held-1").await.is_some());
    assert_eq!(backlog(&js, &q).await, 0);
    assert_eq!(*calls.lock().unwrap(), ["held-1"], "the handler ran once");
    assert!(matches!(
        events
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|e| matches!(e, WorkerEvent::Health { .. })),
        Some(WorkerEvent::Health { problem: None })
    ));

    p.close().await;
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_store_naks_instead_of_running_the_handler() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("blind");
    provision(&js, &q).await;
    let (calls, events): (Calls, Events) = Default::default();
    let worker = pay_worker(&client, &q, &calls, &Default::default(), &events)
        .shared_idempotency(true)
        .build()
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let p = producer(&client, &q).await;
    // The bucket disappears once the worker runs: nothing can say whether the id was processed.
    let cfg = js
        .get_stream(PROCESSED_STREAM)
        .await
        .unwrap()
        .info()
        .await
        .unwrap()
        .config
        .clone();
    js.delete_stream(PROCESSED_STREAM).await.unwrap();
    p.send(pay("blind-1", "ok")).await.unwrap();
    eventually(
        "a store-unreadable NAK",
        Duration::from_secs(20),
        || async {
            has(&events, |e| {
                matches!(e, WorkerEvent::Nak { reason: NakReason::StoreUnreadable, delay, .. }
                if *delay == Duration::from_secs(1))
            })
        },
    )
    .await;
    assert!(calls.lock().unwrap().is_empty(), "the handler ran blind");

    js.create_stream(cfg).await.unwrap();
    eventually(
        "processed once the store is back",
        Duration::from_secs(20),
        || async { processed(&events, "blind-1") },
    )
    .await;
    assert_eq!(*calls.lock().unwrap(), ["blind-1"]);

    p.close().await;
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_circuit_opens_on_failures_and_a_probe_closes_it() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("circuit");
    provision(&js, &q).await;
    let (calls, events): (Calls, Events) = Default::default();
    let failing = Arc::new(AtomicBool::new(true));
    // One message in hand at a time: once the circuit is open nothing but probes is pulled, so
    // the failed messages wait in the backlog for the probe. The fixed capacity keeps the
    // window open for the sends.
    let worker = pay_worker(&client, &q, &calls, &failing, &events)
        .concurrency(1)
        .prefetch(0)
        .capacity(8)
        .circuit_breaker(2, 2, Duration::from_millis(300))
        .max_attempts(50)
        .build()
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let p = producer(&client, &q).await;
    let circuit = |open: bool| {
        let events = events.clone();
        move || {
            let e = events.clone();
            async move { has(&e, |x| *x == WorkerEvent::CircuitChanged { open }) }
        }
    };

    // Rejections are the message's fault: they do not open the circuit.
    p.send(pay("bad-1", "reject")).await.unwrap();
    p.send(pay("bad-2", "reject")).await.unwrap();
    eventually("both dead-lettered", Duration::from_secs(20), || async {
        events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, WorkerEvent::DeadLettered { .. }))
            .count()
            == 2
    })
    .await;
    assert!(!circuit(true)().await);

    for id in ["pay-1", "pay-2", "pay-3"] {
        p.send(pay(id, "ok")).await.unwrap();
    }
    eventually("the circuit opened", Duration::from_secs(20), circuit(true)).await;
    eventually(
        "advertised CIRCUIT_OPEN, capacity 0",
        Duration::from_secs(10),
        || async {
            advert(&js, &q, "full-1")
                .await
                .is_some_and(|a| a.state == WorkerState::CircuitOpen as i32 && a.capacity == 0)
        },
    )
    .await;
    assert!(!circuit(false)().await);

    failing.store(false, Ordering::SeqCst);
    eventually("a probe closed it", Duration::from_secs(20), circuit(false)).await;
    eventually("all processed", Duration::from_secs(20), || async {
        ["pay-1", "pay-2", "pay-3"]
            .iter()
            .all(|id| processed(&events, id))
    })
    .await;
    let a = advert(&js, &q, "full-1").await.unwrap();
    assert_eq!(a.state, WorkerState::Running as i32);
    assert!(a.capacity > 0);

    p.close().await;
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_latency_target_advertises_capacity_from_the_service_rate() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("latency");
    provision(&js, &q).await;
    let (calls, events): (Calls, Events) = Default::default();
    // concurrency 2 + prefetch 2: b' = 2 (§5.4), so 2b' = 4.
    let worker = pay_worker(&client, &q, &calls, &Default::default(), &events)
        .concurrency(2)
        .prefetch(2)
        .latency_target(Duration::from_secs(1), 40)
        .build()
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    eventually("the first advert", Duration::from_secs(10), || async {
        advert(&js, &q, "full-1").await.is_some()
    })
    .await;
    let first = advert(&js, &q, "full-1").await.unwrap();
    assert_eq!(first.service_rate, 0.0);
    assert_eq!(
        first.capacity,
        2 + 4,
        "no rate yet: the concurrency plus 2b'"
    );

    let p = producer(&client, &q).await;
    let sends = (0..150).map(|i| pay(&format!("l-{i}"), "ok")).collect();
    p.send_batch(sends).await.unwrap();
    eventually(
        "the capacity followed the rate",
        Duration::from_secs(30),
        || async {
            let a = advert(&js, &q, "full-1").await.unwrap();
            let want = sluice::__internal::credits::latency_capacity(2, 40, a.service_rate, 1.0, 2);
            assert_eq!(a.capacity, want, "rate {}", a.service_rate);
            a.service_rate > 0.0 && a.capacity > 6
        },
    )
    .await;

    p.close().await;
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_worker_options_are_checked() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let b = || {
        Worker::builder(client.clone(), "orders").handle(
            "acme.Order",
            1..=1,
            Json::<String>::new(),
            |_s: String, _| async { Ok(()) },
        )
    };
    let option = |r: Result<Worker, Error>| match r {
        Err(Error::InvalidOption { option, .. }) => option,
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("built"),
    };
    let both = b().capacity(8).latency_target(Duration::from_secs(1), 16);
    assert_eq!(option(both.build().await), "latency_target");
    let zero = b().latency_target(Duration::ZERO, 16);
    assert_eq!(option(zero.build().await), "latency_target");
    let wide = b().circuit_breaker(3, 2, Duration::from_secs(1));
    assert_eq!(option(wide.build().await), "circuit_breaker");
    let none = b().circuit_breaker(0, 2, Duration::from_secs(1));
    assert_eq!(option(none.build().await), "circuit_breaker");
    // A store without its bucket is refused when the worker is built (§2).
    let js = jetstream::new(client.clone());
    let q = unique("nobucket");
    provision(&js, &q).await;
    js.delete_stream(PROCESSED_STREAM).await.unwrap();
    let err = Worker::builder(client.clone(), q.clone())
        .handle(
            "acme.Order",
            1..=1,
            Json::<String>::new(),
            |_s: String, _| async { Ok(()) },
        )
        .shared_idempotency(true)
        .build()
        .await
        .err()
        .unwrap();
    assert!(matches!(err, Error::NotProvisioned { .. }), "{err}");
}
