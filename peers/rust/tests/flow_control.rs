//! The flow-control features of protocol revision 1.3 used as a service would use them, against a
//! real nats-server: fairness keys (§15.3), pushback (§15.1) and rate limits (§15.2).

mod common;

use async_nats::jetstream::{self, kv};
use common::*;
use prost::Message as _;
use sluice::__internal::{names, proto, ratelimit};
use sluice::{Error, HandlerError, Json, OutgoingMessage, Producer, Worker, WorkerEvent};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn job(n: u64) -> OutgoingMessage {
    OutgoingMessage::encode("acme.Job", 1, &Json::new(), &n)
        .unwrap()
        .msg_id(format!("job-{n}"))
}

async fn report(ctl: &kv::Store, q: &str, id: &str) -> Option<proto::ProducerReport> {
    let b = ctl.get(names::producer_key(q, id)).await.ok()??;
    proto::ProducerReport::decode(b.as_ref()).ok()
}

async fn advert(cap: &kv::Store, q: &str, id: &str) -> Option<proto::CapacityAdvert> {
    let b = cap.get(names::capacity_key(q, id)).await.ok()??;
    proto::CapacityAdvert::decode(b.as_ref()).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_fairness_key_is_refused_before_a_credit_is_reserved() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("fair-bad");
    provision(&js, &q).await;
    mint(&js, &q, &[1]).await;
    let producer = Producer::builder(client, q.clone())
        .producer_id("api-1")
        .acquire_timeout(Duration::from_secs(5))
        .build()
        .await
        .unwrap();
    let long = "k".repeat(65);
    for bad in ["", "tenant 1", long.as_str(), "ünicode"] {
        let err = producer
            .send(job(1).fairness_key(bad))
            .await
            .expect_err("a malformed key is refused");
        assert!(
            matches!(&err, Error::InvalidFairnessKey { key, .. } if key == bad),
            "{bad:?}: {err}"
        );
        assert!(err.to_string().contains("1 to 64 characters"), "{err}");
    }
    // No credit was reserved: the one credit still serves a valid send.
    producer
        .send(job(2).fairness_key("tenant-1"))
        .await
        .unwrap();
    assert_eq!(backlog(&js, &q).await, 1);
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_sends_of_two_keys_share_the_credits_fairly_and_are_reported() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("fair");
    provision(&js, &q).await;
    let ctl = js.get_key_value(names::CONTROL_BUCKET).await.unwrap();
    let producer = Producer::builder(client, q.clone())
        .producer_id("api-1")
        .acquire_timeout(Duration::from_secs(20))
        .build()
        .await
        .unwrap();
    // Four sends of a busy tenant, then two of a quiet one, all waiting for credits.
    let mut sends = Vec::new();
    for (n, key) in [
        (1, "busy"),
        (2, "busy"),
        (3, "busy"),
        (4, "busy"),
        (5, "quiet"),
        (6, "quiet"),
    ] {
        let p = producer.clone();
        sends.push(tokio::spawn(async move {
            p.send(job(n).fairness_key(key)).await
        }));
        eventually("the send waits", Duration::from_secs(5), || {
            let (ctl, q) = (ctl.clone(), q.clone());
            async move { report(&ctl, &q, "api-1").await.map(|r| r.waiting) == Some(n as u32) }
        })
        .await;
    }
    let r = report(&ctl, &q, "api-1").await.unwrap();
    let waiting: Vec<(String, u32)> = r
        .fairness_keys
        .iter()
        .map(|k| (k.key.clone(), k.waiting))
        .collect();
    assert_eq!(waiting, vec![("busy".into(), 4), ("quiet".into(), 2)]);
    // One credit at a time: deficit round robin alternates the keys while both wait.
    for i in 1..=6u64 {
        mint(&js, &q, &[1]).await;
        eventually("the credit is spent", Duration::from_secs(5), || {
            let (js, q) = (js.clone(), q.clone());
            async move { backlog(&js, &q).await == i }
        })
        .await;
    }
    for s in sends {
        s.await.unwrap().unwrap();
    }
    let stream = js.get_stream(names::work_stream(&q)).await.unwrap();
    let mut order = Vec::new();
    for seq in 1..=6 {
        let m = stream.get_raw_message(seq).await.unwrap();
        order.push(
            m.headers
                .get("Sluice-Fairness-Key")
                .map(|v| v.to_string())
                .unwrap(),
        );
    }
    assert_eq!(order, ["busy", "quiet", "busy", "quiet", "busy", "busy"]);
    eventually(
        "the report counts the grants",
        Duration::from_secs(5),
        || {
            let (ctl, q) = (ctl.clone(), q.clone());
            async move {
                report(&ctl, &q, "api-1").await.is_some_and(|r| {
                    r.fairness_keys
                        .iter()
                        .map(|k| (k.key.clone(), k.waiting, k.granted_total, k.weight))
                        .collect::<Vec<_>>()
                        == vec![("busy".into(), 0, 4, 1), ("quiet".into(), 0, 2, 1)]
                })
            }
        },
    )
    .await;
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overloaded_handler_is_retried_on_the_same_delivery_and_lowers_the_capacity() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("pushback");
    provision(&js, &q).await;
    let cap = js.get_key_value(names::CAPACITY_BUCKET).await.unwrap();
    let calls = Arc::new(AtomicU64::new(0));
    let attempts: Arc<Mutex<Vec<u64>>> = Arc::default();
    let events: Arc<Mutex<Vec<WorkerEvent>>> = Arc::default();
    let (c, a, e) = (calls.clone(), attempts.clone(), events.clone());
    let worker = Worker::builder(client.clone(), q.clone())
        .worker_id("caller-1")
        .concurrency(4)
        .prefetch(4)
        .reconciler(None)
        .handle(
            "acme.Job",
            1..=1,
            Json::<u64>::new(),
            move |_n: u64, ctx| {
                let (c, a) = (c.clone(), a.clone());
                async move {
                    // The downstream answers 429 to the first three calls.
                    if c.fetch_add(1, Ordering::SeqCst) < 3 {
                        return Err(HandlerError::overloaded(Some(Duration::from_millis(700))));
                    }
                    a.lock().unwrap().push(ctx.attempt());
                    Ok(())
                }
            },
        )
        .on_event(move |ev| e.lock().unwrap().push(ev.clone()))
        .build()
        .await
        .unwrap();
    let running = run(worker);
    let producer = Producer::builder(client, q.clone())
        .producer_id("api-1")
        .build()
        .await
        .unwrap();
    mint(&js, &q, &[1]).await;
    producer.send(job(1)).await.unwrap();
    // While pushed back, the advert shows the capacity lowered below the configured one.
    eventually("the capacity is lowered", Duration::from_secs(10), || {
        let (cap, q) = (cap.clone(), q.clone());
        async move {
            advert(&cap, &q, "caller-1")
                .await
                .is_some_and(|a| a.capacity < a.nominal_capacity && a.pushbacks_total > 0)
        }
    })
    .await;
    eventually("the message is processed", Duration::from_secs(10), || {
        let a = attempts.clone();
        async move { !a.lock().unwrap().is_empty() }
    })
    .await;
    // Three pushbacks, no attempt counted, no NAK.
    assert_eq!(*attempts.lock().unwrap(), vec![1]);
    let evs = events.lock().unwrap().clone();
    let pushed: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            WorkerEvent::PushedBack {
                pushbacks,
                retry_in,
                ..
            } => Some((*pushbacks, *retry_in)),
            _ => None,
        })
        .collect();
    assert_eq!(
        pushed,
        (1..=3)
            .map(|n| (n, Duration::from_millis(700)))
            .collect::<Vec<_>>()
    );
    assert!(!evs.iter().any(|e| matches!(e, WorkerEvent::Nak { .. })));
    eventually(
        "the advert counts the pushbacks",
        Duration::from_secs(10),
        || {
            let (cap, q) = (cap.clone(), q.clone());
            async move {
                advert(&cap, &q, "caller-1")
                    .await
                    .is_some_and(|a| a.pushbacks_total == 3 && a.pushback_decreases_total >= 1)
            }
        },
    )
    .await;
    producer.close().await;
    assert_eq!(running.stop().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_sets_the_workers_share_and_caps_the_audited_window() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("rate");
    provision(&js, &q).await;
    let ctl = js.get_key_value(names::CONTROL_BUCKET).await.unwrap();
    let cap = js.get_key_value(names::CAPACITY_BUCKET).await.unwrap();
    let settings = proto::QueueSettings {
        rate_per_second: 40.0,
        rate_burst: 10,
        ..Default::default()
    };
    ctl.put(names::settings_key(&q), settings.encode_to_vec().into())
        .await
        .unwrap();
    let worker = Worker::builder(client.clone(), q.clone())
        .worker_id("paced-1")
        .concurrency(4)
        .prefetch(4)
        .reconciler(Some(Duration::from_millis(200)))
        .handle("acme.Job", 1..=1, Json::<u64>::new(), |_n: u64, _| async {
            Ok(())
        })
        .build()
        .await
        .unwrap();
    let running = run(worker);
    // The only worker: its share is the whole rate.
    eventually(
        "the advert shows the share",
        Duration::from_secs(10),
        || {
            let (cap, q) = (cap.clone(), q.clone());
            async move {
                advert(&cap, &q, "paced-1")
                    .await
                    .is_some_and(|a| a.rate_limited && a.rate_share == 40.0)
            }
        },
    )
    .await;
    // The reconciler audits against min(W, max(1, burst − pacing)) = min(W, 10 − (2 + 1)) = 7.
    eventually("the ledger shows the rate", Duration::from_secs(10), || {
        let (ctl, q) = (ctl.clone(), q.clone());
        async move {
            let Ok(Some(b)) = ctl.get(names::reconciler_key(&q)).await else {
                return false;
            };
            let lease = proto::ReconcilerLease::decode(b.as_ref()).unwrap();
            lease.last.is_some_and(|l| {
                l.rate_per_second == 40.0
                    && l.capacity_window >= 7
                    && l.window == ratelimit::window(l.capacity_window, 40.0, 10, 1)
                    && l.window == 7
                    && l.unlimited_workers == 0
            })
        }
    })
    .await;
    // Work still flows through the capped window.
    let producer = Producer::builder(client, q.clone())
        .producer_id("api-1")
        .build()
        .await
        .unwrap();
    for n in 0..20 {
        producer.send(job(n)).await.unwrap();
    }
    producer.close().await;
    eventually("the backlog drains", Duration::from_secs(10), || {
        let (js, q) = (js.clone(), q.clone());
        async move { backlog(&js, &q).await == 0 }
    })
    .await;
    assert_eq!(running.stop().await, 20);
}
