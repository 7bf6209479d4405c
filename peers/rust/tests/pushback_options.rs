//! The worker's pushback options (PROTOCOL.md §15.1), `WorkerBuilder::pushback` and
//! `without_pushback`, against a real nats-server: what the advert shows after a handler pushed
//! back, and the checks of a policy out of range.

mod common;

use async_nats::jetstream::{self, kv};
use common::*;
use prost::Message as _;
use sluice::__internal::{names, proto};
use sluice::{
    Error, HandlerError, Json, OutgoingMessage, Producer, PushbackPolicy, Worker, WorkerBuilder,
    WorkerEvent,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn advert(cap: &kv::Store, q: &str, id: &str) -> Option<proto::CapacityAdvert> {
    let b = cap.get(names::capacity_key(q, id)).await.ok()??;
    proto::CapacityAdvert::decode(b.as_ref()).ok()
}

/// A worker of `acme.Job` (capacity 8: concurrency 8, no prefetch) whose handler pushes back on
/// its first `overloaded` calls (retry in 300 ms) and then succeeds, recording the attempts.
fn worker(
    client: &async_nats::Client,
    q: &str,
    id: &str,
    overloaded: u64,
    attempts: &Arc<Mutex<Vec<u64>>>,
    events: &Arc<Mutex<Vec<WorkerEvent>>>,
) -> WorkerBuilder {
    let calls = Arc::new(AtomicU64::new(0));
    let (a, e) = (attempts.clone(), events.clone());
    Worker::builder(client.clone(), q)
        .worker_id(id)
        .concurrency(8)
        .prefetch(0)
        .heartbeat(Duration::from_millis(200))
        .reconciler(None)
        .handle(
            "acme.Job",
            1..=1,
            Json::<u64>::new(),
            move |_n: u64, ctx| {
                let (calls, a) = (calls.clone(), a.clone());
                async move {
                    if calls.fetch_add(1, Ordering::SeqCst) < overloaded {
                        return Err(HandlerError::overloaded(Some(Duration::from_millis(300))));
                    }
                    a.lock().unwrap().push(ctx.attempt());
                    Ok(())
                }
            },
        )
        .on_event(move |ev| e.lock().unwrap().push(ev.clone()))
}

/// Starts `w`, sends one job on a minted credit, and waits until its handler succeeded.
async fn run_one_job(
    client: &async_nats::Client,
    q: &str,
    w: WorkerBuilder,
    attempts: &Arc<Mutex<Vec<u64>>>,
) -> Running {
    let worker = w.build().await.unwrap();
    let running = run(worker);
    let js = jetstream::new(client.clone());
    mint(&js, q, &[1]).await;
    let producer = Producer::builder(client.clone(), q)
        .producer_id("api-1")
        .build()
        .await
        .unwrap();
    let job = OutgoingMessage::encode("acme.Job", 1, &Json::new(), &1u64)
        .unwrap()
        .msg_id("job-1");
    producer.send(job).await.unwrap();
    producer.close().await;
    eventually("the job is processed", Duration::from_secs(15), || {
        let a = attempts.clone();
        async move { !a.lock().unwrap().is_empty() }
    })
    .await;
    running
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushback_policy_sets_the_decrease_and_the_floor() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("pb-policy");
    provision(&js, &q).await;
    let cap = js.get_key_value(names::CAPACITY_BUCKET).await.unwrap();
    let (attempts, events) = (Arc::default(), Arc::default());
    // ×0.25 of 8 is 2, under the floor of 3: the capacity is lowered to 3 (the default policy
    // would lower it to 4). No increase within the test: the interval is a minute.
    let policy = PushbackPolicy {
        decrease: 0.25,
        floor: 3,
        increase_interval: Duration::from_secs(60),
        ..PushbackPolicy::default()
    };
    let w = worker(&client, &q, "pb-1", 1, &attempts, &events).pushback(policy);
    let running = run_one_job(&client, &q, w, &attempts).await;
    eventually(
        "the advert shows capacity 3 of 8",
        Duration::from_secs(10),
        || {
            let (cap, q) = (cap.clone(), q.clone());
            async move {
                advert(&cap, &q, "pb-1").await.is_some_and(|a| {
                    a.capacity == 3
                        && a.nominal_capacity == 8
                        && a.pushbacks_total == 1
                        && a.pushback_decreases_total == 1
                        && a.lowered_since_unix_ms > 0
                })
            }
        },
    )
    .await;
    assert_eq!(*attempts.lock().unwrap(), vec![1]);
    assert_eq!(running.stop().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_pushback_a_pushback_is_retried_and_the_capacity_stays() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("pb-off");
    provision(&js, &q).await;
    let cap = js.get_key_value(names::CAPACITY_BUCKET).await.unwrap();
    let (attempts, events) = (Arc::default(), Arc::default());
    let w = worker(&client, &q, "pb-2", 3, &attempts, &events).without_pushback();
    let running = run_one_job(&client, &q, w, &attempts).await;
    // Held and run again on the same delivery: three pushbacks, one attempt, no NAK.
    assert_eq!(*attempts.lock().unwrap(), vec![1]);
    let evs = events.lock().unwrap().clone();
    let pushed = evs
        .iter()
        .filter(|e| matches!(e, WorkerEvent::PushedBack { .. }))
        .count();
    assert_eq!(pushed, 3);
    assert!(!evs.iter().any(|e| matches!(e, WorkerEvent::Nak { .. })));
    // Counted in the advert, never lowering the capacity.
    eventually(
        "the advert counts 3 pushbacks and no decrease",
        Duration::from_secs(10),
        || {
            let (cap, q) = (cap.clone(), q.clone());
            async move {
                advert(&cap, &q, "pb-2")
                    .await
                    .is_some_and(|a| a.pushbacks_total == 3)
            }
        },
    )
    .await;
    let a = advert(&cap, &q, "pb-2").await.unwrap();
    assert_eq!(
        (
            a.capacity,
            a.nominal_capacity,
            a.pushback_decreases_total,
            a.lowered_since_unix_ms
        ),
        (8, 8, 0, 0)
    );
    assert_eq!(running.stop().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushback_policy_out_of_range_is_refused() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let (attempts, events) = (Arc::default(), Arc::default());
    let ms = Duration::from_millis;
    let d = PushbackPolicy::default();
    let bad = [
        PushbackPolicy { decrease: 0.0, ..d },
        PushbackPolicy { decrease: 1.0, ..d },
        PushbackPolicy {
            decrease: f64::NAN,
            ..d
        },
        PushbackPolicy { floor: 0, ..d },
        PushbackPolicy {
            decrease_interval: Duration::ZERO,
            ..d
        },
        PushbackPolicy {
            increase_interval: Duration::from_micros(500),
            ..d
        },
    ];
    for p in bad {
        let r = worker(&client, "orders", "pb-3", 0, &attempts, &events)
            .pushback(p)
            .build()
            .await;
        match r {
            Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "pushback", "{p:?}"),
            Err(e) => panic!("{p:?}: {e}"),
            Ok(_) => panic!("{p:?} was accepted"),
        }
    }
    // The edges of the ranges pass: the build fails only on the queue nobody provisioned.
    let fine = PushbackPolicy {
        decrease: 0.9,
        floor: 1,
        decrease_interval: ms(1),
        increase_interval: ms(1),
    };
    let r = worker(&client, "orders", "pb-3", 0, &attempts, &events)
        .pushback(fine)
        .build()
        .await;
    assert!(
        matches!(r, Err(Error::NotProvisioned { .. })),
        "{:?}",
        r.err()
    );
}
