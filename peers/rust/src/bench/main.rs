//! `sluice-bench-rust`: this crate's pipeline (Producer → Worker, credits included) against a raw
//! async-nats pipeline (JetStream publish → pull consumer → ack) on the same server, in the same
//! run and process, with the same producer concurrency, handler and in-flight limit.
//!
//! Two workloads: `fast` (no-op handlers, what the credits cost) and `slow` (1 ms handlers, 8 at
//! once, a producer that outruns them: the backlog raw lets grow and Sluice bounds). CPU per
//! message is `utime + stime` from `/proc` of this process and of the nats-server, over the
//! measured period, divided by the messages handled in it. Started by `scripts/bench rust`.

mod alloc;
mod measured;
mod stats;

use async_nats::jetstream::{self, consumer::PullConsumer, AckKind};
use futures_util::StreamExt;
use measured::{round2, Measured};
use serde_json::{json, Value};
use sluice::{Json, OutgoingMessage, Producer, Worker};
use stats::cpu_ticks;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

struct Opts {
    server: String,
    server_pid: Option<u32>,
    json: bool,
    seconds: u64,
    warmup: u64,
    /// Run the Sluice worker without its reconciler; the window is minted at provisioning.
    no_reconciler: bool,
    /// The server's monitoring `host:port` (`-m`): its message counts per message handled.
    monitor: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: sluice-bench-rust --server URL [--server-pid PID] [--monitor HOST:PORT] [--seconds N=5] [--warmup N=3] [--no-reconciler] [--json]"
    );
    std::process::exit(2);
}

fn parse() -> Opts {
    let mut o = Opts {
        server: String::new(),
        server_pid: None,
        json: false,
        seconds: 5,
        warmup: 3,
        no_reconciler: false,
        monitor: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--server" => o.server = args.next().unwrap_or_else(|| usage()),
            "--server-pid" => o.server_pid = args.next().and_then(|p| p.parse().ok()),
            "--monitor" => o.monitor = Some(args.next().unwrap_or_else(|| usage())),
            "--seconds" => {
                o.seconds = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--warmup" => {
                o.warmup = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--json" => o.json = true,
            "--no-reconciler" => o.no_reconciler = true,
            "rust" => {}
            "-h" | "--help" => usage(),
            other => {
                eprintln!("unknown option {other}");
                usage()
            }
        }
    }
    if o.server.is_empty() {
        usage()
    }
    o
}

/// A workload: handler time, handlers at once, in-flight limit, producer concurrency.
#[derive(Clone, Copy)]
struct Load {
    name: &'static str,
    handler: Duration,
    concurrency: usize,
    prefetch: usize,
    senders: usize,
}

const FAST: Load = Load {
    name: "fast",
    handler: Duration::ZERO,
    concurrency: 8,
    prefetch: 248,
    senders: 64,
};
const SLOW: Load = Load {
    name: "slow",
    handler: Duration::from_millis(1),
    concurrency: 8,
    prefetch: 8,
    senders: 64,
};

#[derive(serde::Serialize, serde::Deserialize)]
struct Job {
    n: u64,
}

/// Counters a pass shares with its tasks.
#[derive(Default)]
struct Counters {
    handled: AtomicU64,
    stop: AtomicBool,
}

/// Runs the warm-up, then measures for `seconds`, sampling the backlog every 100 ms.
async fn measure(o: &Opts, c: &Counters, js: &jetstream::Context, stream: &str) -> Measured {
    tokio::time::sleep(Duration::from_secs(o.warmup)).await;
    let a0 = alloc::allocations();
    let x0 = stats::context_switches();
    let server = |o: &Opts| o.monitor.as_deref().and_then(stats::server_counts);
    let n0 = server(o);
    let (h0, s0, v0) = (
        c.handled.load(Ordering::SeqCst),
        cpu_ticks(None),
        o.server_pid.map(|p| cpu_ticks(Some(p))).unwrap_or(0),
    );
    let start = Instant::now();
    let end = start + Duration::from_secs(o.seconds);
    let (mut max_backlog, mut sum, mut samples) = (0u64, 0u64, 0u64);
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(mut s) = js.get_stream(stream).await {
            if let Ok(info) = s.info().await {
                max_backlog = max_backlog.max(info.state.messages);
                sum += info.state.messages;
                samples += 1;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let m = Measured {
        handled: c.handled.load(Ordering::SeqCst) - h0,
        seconds,
        cpu_self: cpu_ticks(None) - s0,
        cpu_server: o.server_pid.map(|p| cpu_ticks(Some(p))).unwrap_or(0) - v0,
        max_backlog,
        allocations: alloc::allocations().zip(a0).map(|(a, b)| a - b),
        switches: stats::context_switches() - x0,
        server: server(o)
            .zip(n0)
            .map(|(a, b)| [0, 1, 2, 3].map(|i| a[i] - b[i])),
        mean_backlog: if samples == 0 {
            0.0
        } else {
            sum as f64 / samples as f64
        },
    };
    c.stop.store(true, Ordering::SeqCst);
    m
}

async fn handle(load: Load) {
    if !load.handler.is_zero() {
        tokio::time::sleep(load.handler).await;
    }
}

/// Raw async-nats: `senders` tasks publishing and awaiting each PubAck; a pull consumer with
/// `max_ack_pending = concurrency + prefetch` whose messages run on at most `concurrency` tasks.
async fn raw(o: &Opts, client: &async_nats::Client, load: Load) -> Measured {
    let js = jetstream::new(client.clone());
    let name = format!("BENCH_RAW_{}", load.name.to_uppercase());
    let subject = format!("bench.raw.{}", load.name);
    let _ = js.delete_stream(&name).await;
    let stream = js
        .create_stream(jetstream::stream::Config {
            name: name.clone(),
            subjects: vec![subject.clone()],
            retention: jetstream::stream::RetentionPolicy::WorkQueue,
            storage: jetstream::stream::StorageType::File,
            max_messages: 1_000_000,
            discard: jetstream::stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await
        .expect("raw stream");
    let consumer: PullConsumer = stream
        .create_consumer(jetstream::consumer::pull::Config {
            durable_name: Some("raw".into()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            max_ack_pending: (load.concurrency + load.prefetch) as i64,
            ..Default::default()
        })
        .await
        .expect("raw consumer");
    let c = Arc::new(Counters::default());
    let mut tasks = Vec::new();
    for s in 0..load.senders {
        let (js, c, subject) = (js.clone(), c.clone(), subject.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = s as u64;
            while !c.stop.load(Ordering::Relaxed) {
                let body = serde_json::to_vec(&Job { n }).unwrap();
                if let Ok(f) = js.publish(subject.clone(), body.into()).await {
                    let _ = f.await;
                }
                n += load.senders as u64;
            }
        }));
    }
    let consumer_task = {
        let c = c.clone();
        tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(load.concurrency));
            let mut messages = consumer
                .stream()
                .max_messages_per_batch(load.concurrency + load.prefetch)
                .messages()
                .await
                .expect("raw pull");
            while let Some(Ok(m)) = messages.next().await {
                if c.stop.load(Ordering::Relaxed) {
                    break;
                }
                let permit = slots.clone().acquire_owned().await.unwrap();
                let c = c.clone();
                tokio::spawn(async move {
                    let _job: Job = serde_json::from_slice(&m.payload).unwrap();
                    handle(load).await;
                    if m.ack_with(AckKind::Ack).await.is_ok() {
                        c.handled.fetch_add(1, Ordering::Relaxed);
                    }
                    drop(permit);
                });
            }
        })
    };
    let m = measure(o, &c, &js, &name).await;
    for t in tasks {
        let _ = t.await;
    }
    consumer_task.abort();
    let _ = js.delete_stream(&name).await;
    m
}

/// This crate: a `Producer` with `senders` concurrent sends, a `Worker` with the same
/// concurrency and prefetch (capacity = the raw in-flight limit), its reconciler (default
/// options: audits every 2 s) minting the fresh queue's window during the warm-up.
async fn sluice(o: &Opts, client: &async_nats::Client, load: Load, queue: &str) -> (Measured, u64) {
    let js = jetstream::new(client.clone());
    // Without a reconciler the window is minted at provisioning, as the standing buffer.
    let window = (load.concurrency + load.prefetch) as u64;
    let standing = if o.no_reconciler { window as u32 } else { 0 };
    sluice::provision(
        &js,
        queue,
        &sluice::QueueConfig::default().standing_buffer(standing),
    )
    .await
    .expect("provisioning the benchmark queue");
    let c = Arc::new(Counters::default());
    let counter = c.clone();
    let worker = Worker::builder(client.clone(), queue)
        .worker_id(format!("bench-{}", load.name))
        .concurrency(load.concurrency)
        .prefetch(load.prefetch)
        .token_batch(32)
        .reconciler((!o.no_reconciler).then_some(Duration::from_secs(2)))
        .handle("bench.Job", 1..=1, Json::<Job>::new(), move |_j: Job, _| {
            let c = counter.clone();
            async move {
                handle(load).await;
                c.handled.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        })
        .build()
        .await
        .expect("sluice worker");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let producer = Producer::builder(client.clone(), queue)
        .producer_id(format!("bench-{}", load.name))
        .prefetch(8)
        .acquire_timeout(Duration::from_secs(60))
        .build()
        .await
        .expect("sluice producer");
    let mut tasks = Vec::new();
    for s in 0..load.senders {
        let (p, c) = (producer.clone(), c.clone());
        let codec_ref = Json::<Job>::new();
        tasks.push(tokio::spawn(async move {
            let mut n = s as u64;
            while !c.stop.load(Ordering::Relaxed) {
                let m = OutgoingMessage::encode("bench.Job", 1, &codec_ref, &Job { n }).unwrap();
                if p.send(m).await.is_err() {
                    break;
                }
                n += load.senders as u64;
            }
        }));
    }
    let probe = std::env::var_os("SLUICE_BENCH_PROBE").map(|_| {
        let (js, q, c) = (js.clone(), queue.to_string(), c.clone());
        tokio::spawn(async move { stats::probe(&js, &q, &c.stop).await })
    });
    let m = measure(o, &c, &js, &sluice::__internal::names::work_stream(queue)).await;
    if let Some(p) = probe {
        let _ = p.await;
    }
    for t in tasks {
        let _ = t.await;
    }
    producer.close().await;
    let _ = stop.send(());
    let _ = running.await;
    (m, window)
}

async fn pass(o: &Opts, client: &async_nats::Client, load: Load) -> Value {
    eprintln!("bench rust {}: raw async-nats ...", load.name);
    let r = raw(o, client, load).await;
    eprintln!("bench rust {}: sluice ...", load.name);
    let (s, window) = sluice(o, client, load, &format!("benchrust{}", load.name)).await;
    let ratio = if r.handled == 0 {
        0.0
    } else {
        (s.handled as f64 / s.seconds) / (r.handled as f64 / r.seconds)
    };
    let raw_json = r.json(json!({}));
    let sluice_json = s.json(json!({"window": window}));
    let cpu_ratio = match (
        raw_json["cpu_us_per_msg"].as_f64(),
        sluice_json["cpu_us_per_msg"].as_f64(),
    ) {
        (Some(a), Some(b)) if a > 0.0 => round2(b / a),
        _ => -1.0,
    };
    eprintln!(
        "bench rust {}: raw {} msg/s ({} µs CPU/msg, max backlog {}), sluice {} msg/s ({} µs CPU/msg, max backlog {}, window {window}): ratio {:.2}",
        load.name,
        raw_json["throughput"], raw_json["cpu_us_per_msg"], raw_json["max_backlog"],
        sluice_json["throughput"], sluice_json["cpu_us_per_msg"], sluice_json["max_backlog"],
        ratio
    );
    json!({"raw": raw_json, "sluice": sluice_json, "ratio": round2(ratio), "cpu_ratio": cpu_ratio})
}

#[tokio::main]
async fn main() {
    let o = parse();
    if std::env::var_os("SLUICE_BENCH_PROBE").is_some() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(tracing::Level::INFO)
            .init();
    }
    let client = match async_nats::connect(&o.server).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot connect to {}: {e}", o.server);
            std::process::exit(3);
        }
    };
    let fast = pass(&o, &client, FAST).await;
    let slow = pass(&o, &client, SLOW).await;
    let result = json!({"fast": fast, "slow": slow, "target_fast_ratio": 0.85});
    if o.json {
        println!("{result}");
    } else {
        println!("{}", serde_json::to_string_pretty(&result).unwrap());
    }
}
