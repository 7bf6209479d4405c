//! `sluice-bench-rust`: this crate's pipeline (Producer → Worker, credits included) against a raw
//! async-nats pipeline (JetStream publish → pull consumer → ack) on the same server, in the same
//! run and process, with the same producer concurrency, handler and in-flight limit.
//!
//! Two workloads: `fast` (no-op handlers, what the credits cost) and `slow` (1 ms handlers, 8 at
//! once, a producer that outruns them: the backlog raw lets grow and Sluice bounds). CPU per
//! message is `utime + stime` from `/proc` of this process and of the nats-server, over the
//! measured period, divided by the messages handled in it. Started by `scripts/bench rust`.

mod alloc;
mod floor;
mod measured;
mod opts;
mod rounds;
mod stats;

use async_nats::jetstream::{self, consumer::PullConsumer, AckKind};
use floor::Wire;
use futures_util::StreamExt;
use measured::{round2, Measured};
use opts::{parse, Only, Opts};
use serde_json::{json, Value};
use sluice::{Json, OutgoingMessage, Producer, Worker};
use stats::cpu_ticks;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// A workload: handler time, handlers at once, in-flight limit, producer concurrency.
#[derive(Clone, Copy)]
struct Load {
    name: &'static str,
    handler: Duration,
    concurrency: usize,
    prefetch: usize,
    senders: usize,
    /// The Sluice worker's token batch (§5.4).
    token_batch: u32,
}

const FAST: Load = Load {
    name: "fast",
    handler: Duration::ZERO,
    concurrency: 8,
    prefetch: 248,
    senders: 64,
    token_batch: 32,
};
const SLOW: Load = Load {
    name: "slow",
    handler: Duration::from_millis(1),
    concurrency: 8,
    prefetch: 8,
    senders: 64,
    token_batch: 32,
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
/// `wire` is the header block each publish carries and each handler reads (`floor`); `pace`,
/// when given, holds the senders together to about that many messages a second.
async fn raw(
    o: &Opts,
    client: &async_nats::Client,
    load: Load,
    wire: Wire,
    pace: Option<f64>,
) -> Measured {
    let js = jetstream::new(client.clone());
    let label = wire.label().replace('-', "_").to_uppercase();
    let name = format!("BENCH_{label}_{}", load.name.to_uppercase());
    let subject = format!("bench.{}.{}", wire.label(), load.name);
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
        let stamper = floor::Stamper::new(wire, &format!("bench-{}", load.name));
        // Each sender publishes on its own tick: `senders / pace` seconds apart.
        let mut tick = pace.filter(|r| *r > 0.0).map(|r| {
            let mut t = tokio::time::interval(Duration::from_secs_f64(load.senders as f64 / r));
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            t
        });
        tasks.push(tokio::spawn(async move {
            let (mut n, mut seq) = (s as u64, 0u64);
            while !c.stop.load(Ordering::Relaxed) {
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let body = serde_json::to_vec(&Job { n }).unwrap();
                seq += 1;
                let sent = match stamper.headers(seq) {
                    None => js.publish(subject.clone(), body.into()).await,
                    Some(h) => {
                        js.publish_with_headers(subject.clone(), h, body.into())
                            .await
                    }
                };
                if let Ok(f) = sent {
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
                    let read = floor::read(wire, m.headers.as_ref());
                    let _job: Job = serde_json::from_slice(&m.payload).unwrap();
                    handle(load).await;
                    if m.ack_with(AckKind::Ack).await.is_ok() && read {
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
        .token_batch(load.token_batch)
        .reconciler((!o.no_reconciler).then_some(Duration::from_secs(2)))
        .handle(
            floor::TYPE_NAME,
            floor::VERSION..=floor::VERSION,
            Json::<Job>::new(),
            move |_j: Job, _| {
                let c = counter.clone();
                async move {
                    handle(load).await;
                    c.handled.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
            },
        )
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
                let m = OutgoingMessage::encode(
                    floor::TYPE_NAME,
                    floor::VERSION,
                    &codec_ref,
                    &Job { n },
                )
                .unwrap();
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
    let r = raw(o, client, load, Wire::None, None).await;
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
    summary(load.name, "raw", &raw_json);
    summary(load.name, "sluice", &sluice_json);
    eprintln!("bench rust {}: ratio {ratio:.2}", load.name);
    json!({"raw": raw_json, "sluice": sluice_json, "ratio": round2(ratio), "cpu_ratio": cpu_ratio})
}

fn summary(load: &str, pipeline: &str, v: &Value) {
    eprintln!(
        "bench rust {load}: {pipeline} {} msg/s, {} µs CPU/msg ({} + {}), max backlog {}",
        v["throughput"],
        v["cpu_us_per_msg"],
        v["cpu_process_us_per_msg"],
        v["cpu_server_us_per_msg"],
        v["max_backlog"]
    );
}

/// The fast workload: `rounds` rounds of raw, raw-id, raw-wire, raw-compact and Sluice, one
/// after the other on the same server, folded into medians (`rounds::fast`).
async fn fast_pass(o: &Opts, client: &async_nats::Client) -> Value {
    let fast = Load {
        senders: o.senders.map_or(FAST.senders, |n| n as usize),
        prefetch: o.prefetch.map_or(FAST.prefetch, |n| n as usize),
        token_batch: o.token_batch.unwrap_or(FAST.token_batch),
        ..FAST
    };
    let mut all = Vec::new();
    for round in 0..o.rounds as usize {
        let mut r: rounds::Round = Vec::new();
        let wires = match o.only() {
            Some(Only::Sluice) => &[][..],
            Some(Only::RawWire) => &[Wire::Full][..],
            None => &[Wire::None, Wire::Id, Wire::Full, Wire::Compact][..],
        };
        for &wire in wires {
            eprintln!("bench rust fast, round {}: {} ...", round + 1, wire.label());
            let m = raw(o, client, fast, wire, o.pace).await;
            let m = m.json(o.pace.map_or(json!({}), |p| json!({"paced_at": p})));
            summary("fast", wire.label(), &m);
            r.push((wire.label(), m));
        }
        if o.only() == Some(Only::RawWire) {
            all.push(r);
            continue;
        }
        eprintln!("bench rust fast, round {}: sluice ...", round + 1);
        // A fresh queue per round: no backlog or tokens left from the round before.
        let queue = match round {
            0 => "benchrustfast".to_string(),
            n => format!("benchrustfast{n}"),
        };
        let (s, window) = sluice(o, client, fast, &queue).await;
        let s = s.json(json!({"window": window}));
        summary("fast", "sluice", &s);
        // raw-wire again at the Sluice pass's rate: the server's cost per message depends on the
        // rate (messages per read and write), so the implementation's share is compared there.
        let rate = s["throughput"].as_f64();
        r.push(("sluice", s));
        if o.only() == Some(Only::Sluice) {
            all.push(r);
            continue;
        }
        eprintln!("bench rust fast, round {}: raw-wire-paced ...", round + 1);
        let m = raw(o, client, fast, Wire::Full, rate).await;
        let m = m.json(json!({"paced_at": rate}));
        summary("fast", "raw-wire-paced", &m);
        r.push(("raw-wire-paced", m));
        all.push(r);
    }
    let v = rounds::fast(&all);
    eprintln!(
        "bench rust fast: ratio {} (cpu {}); wire overhead {} µs/msg, compact saving {}, implementation overhead {}",
        v["ratio"],
        v["cpu_ratio"],
        v["floor"]["wire_overhead"]["cpu_us_per_msg"],
        v["floor"]["compact_saving"]["cpu_us_per_msg"],
        v["floor"]["implementation_overhead"]["cpu_us_per_msg"]
    );
    v
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
    let fast = fast_pass(&o, &client).await;
    if o.only().is_some() {
        println!("{}", json!({"fast": fast}));
        return;
    }
    let slow = pass(&o, &client, SLOW).await;
    let result = json!({"fast": fast, "slow": slow, "target_fast_ratio": 0.85});
    if o.json {
        println!("{result}");
    } else {
        println!("{}", serde_json::to_string_pretty(&result).unwrap());
    }
}
