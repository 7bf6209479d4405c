//! Worker and producer options with the same meaning as the Go library's, against a real
//! nats-server: the whole retry backoff (§7.3), the payload limit (§7.2) and the checks of
//! every option.

mod common;

use async_nats::jetstream;
use common::*;
use sluice::{
    DeadLetterReason, Error, HandlerError, Json, NakReason, OutgoingMessage, Producer, Worker,
    WorkerBuilder, WorkerEvent,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Events = Arc<Mutex<Vec<WorkerEvent>>>;

/// A worker of `acme.Note` whose handler always fails with a retry.
fn failing_worker(client: &async_nats::Client, q: &str, events: &Events) -> WorkerBuilder {
    let sink = events.clone();
    Worker::builder(client.clone(), q)
        .worker_id("opts-1")
        .reconciler(Some(Duration::from_millis(300)))
        .without_circuit_breaker()
        .handle(
            "acme.Note",
            1..=1,
            Json::<String>::new(),
            |_n: String, _| async { Err(HandlerError::retry("not today")) },
        )
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
}

async fn send(client: &async_nats::Client, q: &str, id: &str, body: &str) {
    let p = Producer::builder(client.clone(), q)
        .producer_id("opts-p")
        .acquire_timeout(Duration::from_secs(20))
        .build()
        .await
        .unwrap();
    let msg = OutgoingMessage::encode("acme.Note", 1, &Json::new(), &body.to_string())
        .unwrap()
        .msg_id(id);
    p.send(msg).await.unwrap();
    p.close().await;
}

fn dead_lettered(events: &Events) -> Option<(DeadLetterReason, u64)> {
    events.lock().unwrap().iter().find_map(|e| match e {
        WorkerEvent::DeadLettered {
            reason, attempt, ..
        } => Some((*reason, *attempt)),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backoff_sets_every_retry_delay() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("backoff");
    provision(&js, &q).await;
    let events: Events = Default::default();
    // No jitter: the delays are exactly 200 ms × 3^(k−1), at most 500 ms.
    let worker = failing_worker(&client, &q, &events)
        .backoff(
            Duration::from_millis(200),
            3.0,
            Duration::from_millis(500),
            0.0,
        )
        .max_attempts(4)
        .build()
        .await
        .unwrap();
    let running = run(worker);
    send(&client, &q, "note-1", "hello").await;
    eventually("dead-lettered", Duration::from_secs(20), || async {
        dead_lettered(&events).is_some()
    })
    .await;
    assert_eq!(
        dead_lettered(&events),
        Some((DeadLetterReason::MaxAttempts, 4))
    );
    let delays: Vec<(u64, Duration)> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            WorkerEvent::Nak {
                attempt,
                delay,
                reason: NakReason::Retry,
                ..
            } => Some((*attempt, *delay)),
            _ => None,
        })
        .collect();
    assert_eq!(
        delays,
        [
            (1, Duration::from_millis(200)),
            (2, Duration::from_millis(500)),
            (3, Duration::from_millis(500)),
        ]
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_over_the_limit_is_dead_lettered_oversize() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("oversize");
    provision(&js, &q).await;
    let events: Events = Default::default();
    let worker = failing_worker(&client, &q, &events)
        .max_payload_bytes(16)
        .build()
        .await
        .unwrap();
    let running = run(worker);
    send(&client, &q, "note-big", &"x".repeat(100)).await;
    eventually("dead-lettered", Duration::from_secs(20), || async {
        dead_lettered(&events).is_some()
    })
    .await;
    assert_eq!(
        dead_lettered(&events),
        Some((DeadLetterReason::Oversize, 1))
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_out_of_range_are_refused() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let events: Events = Default::default();
    let option = |r: Result<Worker, Error>| match r {
        Err(Error::InvalidOption { option, .. }) => option,
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("built"),
    };
    let ms = Duration::from_millis;
    let w = || failing_worker(&client, "orders", &events);
    let slower = w().backoff(ms(100), 0.5, ms(1000), 0.2);
    assert_eq!(option(slower.build().await), "backoff");
    let shaky = w().backoff(ms(100), 2.0, ms(1000), 1.5);
    assert_eq!(option(shaky.build().await), "backoff");
    let capped = w().backoff(ms(100), 2.0, ms(50), 0.2);
    assert_eq!(option(capped.build().await), "backoff");
    assert_eq!(
        option(w().max_deliveries(0).build().await),
        "max_deliveries"
    );
    assert_eq!(
        option(w().max_payload_bytes(0).build().await),
        "max_payload_bytes"
    );
    let no_cache = w().idempotency_cache(0, Duration::from_secs(60));
    assert_eq!(option(no_cache.build().await), "idempotency_cache");
    assert_eq!(option(w().heartbeat(ms(1)).build().await), "heartbeat");

    let err = Producer::builder(client.clone(), "orders")
        .idle_return(Duration::ZERO)
        .build()
        .await
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                option: "idle_return",
                ..
            }
        ),
        "{err}"
    );
}
