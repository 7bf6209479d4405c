//! The public API used as a service would use it, against a real nats-server: a producer and a
//! worker in one process, typed JSON payloads, an upcaster, middleware, retries, dead letters,
//! credit timeouts, version checks and graceful shutdown.

mod common;

use async_nats::jetstream;
use common::*;
use futures_util::future::BoxFuture;
use sluice::{
    CreditTimeoutReason, DeadLetterReason, Error, HandlerError, HandlerResult, Json,
    MessageContext, Middleware, Next, OutgoingMessage, Producer, Worker, WorkerEvent,
};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
struct Invoice {
    number: u64,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    action: String,
}

struct CountCalls(Arc<AtomicU64>);

impl Middleware for CountCalls {
    fn call(&self, ctx: MessageContext, next: Next) -> BoxFuture<'static, HandlerResult> {
        let calls = self.0.clone();
        Box::pin(async move {
            calls.fetch_add(1, Ordering::SeqCst);
            next.run(ctx).await
        })
    }
}

fn invoice(version: u32, number: u64, action: &str) -> OutgoingMessage {
    let currency = if version >= 2 { "USD" } else { "" };
    OutgoingMessage::encode(
        "acme.Invoice",
        version,
        &Json::new(),
        &Invoice {
            number,
            currency: currency.into(),
            action: action.into(),
        },
    )
    .unwrap()
    .msg_id(format!("invoice-{number}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_and_worker_in_one_service() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("api");
    provision(&js, &q).await;

    let seen: Arc<Mutex<Vec<(u64, String, u64)>>> = Arc::default();
    let events: Arc<Mutex<Vec<WorkerEvent>>> = Arc::default();
    let calls = Arc::new(AtomicU64::new(0));
    let handler_seen = seen.clone();
    let sink = events.clone();
    let worker = Worker::builder(client.clone(), q.clone())
        .worker_id("billing-1")
        .concurrency(2)
        .backoff_initial(Duration::from_millis(50))
        .reconciler(Some(Duration::from_millis(500)))
        .handle(
            "acme.Invoice",
            1..=2,
            Json::<Invoice>::new(),
            move |inv: Invoice, ctx: MessageContext| {
                let seen = handler_seen.clone();
                async move {
                    match inv.action.as_str() {
                        "reject" => return Err(HandlerError::reject("negative total")),
                        "flaky" if ctx.attempt() == 1 => {
                            return Err(HandlerError::retry("ledger busy"))
                        }
                        _ => {}
                    }
                    assert_eq!(ctx.trace().trace_id.len(), 32);
                    seen.lock()
                        .unwrap()
                        .push((inv.number, inv.currency, ctx.attempt()));
                    Ok(())
                }
            },
        )
        .upcast("acme.Invoice", 1, |mut inv: Invoice| {
            inv.currency = "EUR".into();
            Ok(inv)
        })
        .middleware(CountCalls(calls.clone()))
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .await
        .unwrap();
    let running = run(worker);

    let producer = Producer::builder(client.clone(), q.clone())
        .producer_id("api-1")
        .acquire_timeout(Duration::from_secs(20))
        .build()
        .await
        .unwrap();
    // The fresh queue has no credit until the worker's reconciler mints its window.
    let first = producer.send(invoice(1, 1, "")).await.unwrap();
    assert_eq!(first.msg_id, "invoice-1");
    assert!(!first.duplicate);
    let receipts = producer
        .send_batch(vec![
            invoice(2, 2, ""),
            invoice(2, 3, "flaky"),
            invoice(1, 4, "reject"),
            invoice(2, 5, ""),
        ])
        .await
        .unwrap();
    assert_eq!(
        receipts
            .iter()
            .map(|r| r.msg_id.as_str())
            .collect::<Vec<_>>(),
        ["invoice-2", "invoice-3", "invoice-4", "invoice-5"]
    );
    // Sending the same id again stores nothing new.
    assert!(producer.send(invoice(2, 5, "")).await.unwrap().duplicate);
    assert_eq!(producer.sent_total(), 6);

    eventually(
        "4 processed, 1 dead-lettered",
        Duration::from_secs(20),
        || async {
            let ev = events.lock().unwrap();
            ev.iter()
                .filter(|e| matches!(e, WorkerEvent::Processed { .. }))
                .count()
                == 4
                && ev
                    .iter()
                    .any(|e| matches!(e, WorkerEvent::DeadLettered { .. }))
        },
    )
    .await;
    producer.close().await;
    let processed = running.stop().await;
    assert_eq!(processed, 4);

    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (1, "EUR".to_string(), 1), // version 1, upcast
            (2, "USD".to_string(), 1),
            (3, "USD".to_string(), 2), // retried after a Retry error
            (5, "USD".to_string(), 1),
        ]
    );
    let events = events.lock().unwrap().clone();
    assert!(events.contains(&WorkerEvent::DeadLettered {
        msg_id: Some("invoice-4".into()),
        reason: DeadLetterReason::Rejected,
        attempt: 1,
    }));
    assert!(events.iter().any(|e| matches!(
        e,
        WorkerEvent::Nak { msg_id: Some(id), reason: sluice::NakReason::Retry, .. } if id == "invoice-3"
    )));
    assert_eq!(events.last(), Some(&WorkerEvent::Stopped { processed: 4 }));
    // The middleware ran around every handler call: 5 messages, one of them twice.
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    let ids: BTreeSet<_> = events
        .iter()
        .filter_map(|e| match e {
            WorkerEvent::Processed { msg_id, .. } => Some(msg_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_without_workers_times_out_saying_why() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let q = unique("lonely");
    provision(&jetstream::new(client.clone()), &q).await;
    let producer = Producer::builder(client, q)
        .acquire_timeout(Duration::from_millis(600))
        .build()
        .await
        .unwrap();
    let err = producer.send(invoice(1, 1, "")).await.unwrap_err();
    match &err {
        Error::CreditTimeout { reason, msg_id, .. } => {
            assert_eq!(*reason, CreditTimeoutReason::NoLiveWorkers);
            assert_eq!(msg_id, "invoice-1");
        }
        other => panic!("expected a credit timeout, got {other}"),
    }
    assert!(err.to_string().contains("no live workers"), "{err}");
    producer.close().await;
    assert!(matches!(
        producer.send(invoice(1, 2, "")).await,
        Err(Error::Closed)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_no_live_worker_handles_is_refused() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let q = unique("versions");
    provision(&jetstream::new(client.clone()), &q).await;
    let ready = Arc::new(tokio::sync::Notify::new());
    let on_ready = ready.clone();
    let worker = Worker::builder(client.clone(), q.clone())
        .handle(
            "acme.Invoice",
            1..=2,
            Json::<Invoice>::new(),
            |_i: Invoice, _| async { Ok(()) },
        )
        .on_event(move |e| {
            if *e == WorkerEvent::Ready {
                on_ready.notify_one();
            }
        })
        .build()
        .await
        .unwrap();
    let running = run(worker);
    // Ready: the worker's advert is written.
    tokio::time::timeout(Duration::from_secs(10), ready.notified())
        .await
        .unwrap();
    let producer = Producer::builder(client, q).build().await.unwrap();
    let err = producer.send(invoice(3, 9, "")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "version not handled: no live worker handles acme.Invoice version 3 \
         (live workers handle: acme.Invoice@1-2)"
    );
    producer.close().await;
    assert_eq!(running.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unprovisioned_queue_is_refused_with_what_to_do() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let err = Worker::builder(client, "nowhere")
        .handle(
            "acme.Invoice",
            1..=1,
            Json::<Invoice>::new(),
            |_i: Invoice, _| async { Ok(()) },
        )
        .build()
        .await
        .err()
        .unwrap();
    assert!(matches!(err, Error::NotProvisioned { .. }), "{err}");
    assert!(err.to_string().contains("run provisioning"), "{err}");
}
