//! The orders example's worker (`examples/orders-worker.rs`, built by `cargo test` into
//! `target/debug/examples`) as the polyglot demo runs it: version-1 and version-2
//! `examples.Order` messages from a producer, one JSON line per processed order, and a graceful
//! stop on SIGTERM.

mod common;

use async_nats::jetstream;
use common::*;
use serde_json::Value;
use sluice::{OutgoingMessage, Producer, Protobuf};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

mod orders {
    include!(concat!(env!("OUT_DIR"), "/sluice.examples.orders.rs"));
}

fn example_binary() -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/examples/orders-worker
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples/orders-worker");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build --examples` (peers/rust/test.sh does)",
        bin.display()
    );
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_worker_processes_both_versions_and_stops_on_sigterm() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let q = unique("orders");
    provision(&jetstream::new(client.clone()), &q).await;
    let mut child = Command::new(example_binary())
        .args([
            "--server",
            &server.url,
            "--queue",
            &q,
            "--worker-id",
            "rust-1",
        ])
        .args(["--concurrency", "2", "--service-ms", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .map(|l| serde_json::from_str::<Value>(&l).unwrap())
            .collect::<Vec<_>>()
    });

    let producer = Producer::builder(client, q.clone())
        .acquire_timeout(Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    let codec = Protobuf::<orders::Order>::new();
    for i in 0..10u32 {
        let version = 1 + i % 2;
        let order = orders::Order {
            order_id: format!("o-{i}"),
            customer: "ada".into(),
            lines: 1 + i,
            total_cents: 100 * i as i64,
            currency: if version == 2 {
                "USD".into()
            } else {
                String::new()
            },
        };
        producer
            .send(
                OutgoingMessage::encode("examples.Order", version, &codec, &order)
                    .unwrap()
                    .msg_id(format!("o-{i}")),
            )
            .await
            .unwrap();
    }
    producer.close().await;
    let js = jetstream::new(async_nats::connect(&server.url).await.unwrap());
    eventually("the backlog drains", Duration::from_secs(30), || async {
        backlog(&js, &q).await == 0
    })
    .await;
    // Let the last acks land, then stop it as the demo does.
    eventually("credits come back", Duration::from_secs(10), || async {
        stored_credits(&js, &q).await > 0
    })
    .await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    let lines = lines.join().unwrap();
    let processed: Vec<&Value> = lines.iter().filter(|l| l["event"] == "processed").collect();
    assert_eq!(processed.len(), 10, "{lines:?}");
    for p in &processed {
        assert_eq!(p["lang"], "rust");
        let i: u32 = p["id"].as_str().unwrap()[2..].parse().unwrap();
        assert_eq!(p["version"], 1 + i % 2);
    }
    assert_eq!(
        lines.last().unwrap(),
        &serde_json::json!({"event": "stopped", "processed": 10})
    );
}
