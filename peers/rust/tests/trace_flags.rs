//! The trace context a producer puts on the wire (§10): a trace it starts itself is unsampled, a
//! trace it is given keeps its flags.

mod common;

use async_nats::jetstream;
use common::*;
use sluice::__internal::names;
use sluice::{Json, OutgoingMessage, Producer, QueueConfig, TraceParent};

async fn traceparent_of(js: &jetstream::Context, q: &str, seq: u64) -> String {
    let stream = js.get_stream(names::work_stream(q)).await.unwrap();
    let m = stream.get_raw_message(seq).await.unwrap();
    m.headers
        .get("traceparent")
        .map(|v| v.as_str().to_string())
        .unwrap_or_default()
}

// A sampled flag on a trace nobody records would make nats-server 2.11+ parse every message's
// headers for its own message tracing; a dropped flag on a caller's trace would lose its spans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_trace_is_unsampled_and_a_given_one_keeps_its_flags() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("trace");
    sluice::provision(&js, &q, &QueueConfig::default().standing_buffer(4))
        .await
        .unwrap();
    let producer = Producer::builder(client.clone(), q.clone())
        .producer_id("trace-producer")
        .build()
        .await
        .unwrap();
    let own = producer
        .send(OutgoingMessage::encode("t.Job", 1, &Json::new(), &1u64).unwrap())
        .await
        .unwrap();
    let given = TraceParent::new_root();
    let continued = producer
        .send(
            OutgoingMessage::encode("t.Job", 1, &Json::new(), &2u64)
                .unwrap()
                .trace(given.clone()),
        )
        .await
        .unwrap();
    producer.close().await;

    let started = TraceParent::parse(&traceparent_of(&js, &q, own.stream_sequence).await)
        .expect("a valid traceparent on a message sent without a trace");
    assert_eq!(started.flags, "00");
    assert_eq!(
        traceparent_of(&js, &q, continued.stream_sequence).await,
        given.header(),
        "the caller's trace was not sent as given"
    );
    assert_eq!(given.flags, "01");
}
