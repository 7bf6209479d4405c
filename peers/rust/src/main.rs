//! `sluice-peer-rust`: the peer command-line contract of peers/README.md, on the crate's public
//! API (the `schedule` role uses the crate's internal schedule code).

mod cli;

use cli::{parse_handles, Args};
use serde_json::json;
use sluice::__internal::events::emit;
use sluice::__internal::schedule_role::{self, ScheduleConfig};
use sluice::__internal::{jsutil, names};
use sluice::{
    HandlerError, Json, OutgoingMessage, Producer, ProducerEvent, Worker, WorkerEvent, LANGUAGE,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const USAGE: &str = "usage:
  sluice-peer-rust worker  --server URL --queue Q --worker-id ID [--concurrency N=4] [--prefetch N=4]
                           [--work-ms N=0] [--handles TYPE@MIN-MAX[,...]=sluice.conformance.Work@1-1]
                           [--max-attempts N=3] [--backoff-initial-ms N=100] [--grace-ms N=3000]
                           [--grace-delay-ms N=500] [--token-batch N=8] [--capacity N]
                           [--reconciler] [--overloaded-for-ms N=0] [--fail-first N=0]
                           [--circuit-breaker FAILURES,WINDOW,DELAY_MS]
  sluice-peer-rust produce --server URL --queue Q --producer-id ID --count N [--type T=sluice.conformance.Work]
                           [--version V=1] [--start N=0] [--behavior ok|poison|fail-once=ok]
                           [--acquire-timeout-ms N=30000] [--fairness-key K]
  sluice-peer-rust schedule --server URL --queue Q --producer-id ID --count N [--delay-ms D=1000]
                           [--type T=sluice.conformance.Work] [--version V=1] [--start N=0]";

fn fail(message: &str) -> ! {
    let line = message.replace('\n', " ");
    eprintln!("{line}");
    emit(json!({"event": "error", "message": line}));
    std::process::exit(1);
}

/// A conformance work payload.
#[derive(serde::Serialize, serde::Deserialize)]
struct Work {
    seq: i64,
    behavior: Behavior,
}

#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum Behavior {
    Ok,
    Poison,
    FailOnce,
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// `--circuit-breaker FAILURES,WINDOW,DELAY_MS` (§7.6).
fn parse_breaker(v: &str) -> Result<(usize, usize, Duration), String> {
    let bad = || {
        format!(
            "--circuit-breaker {v:?}: want FAILURES,WINDOW,DELAY_MS with 1 <= FAILURES <= WINDOW \
             and DELAY_MS >= 1, e.g. 3,5,1000"
        )
    };
    let n: Vec<u64> = v
        .split(',')
        .map(|p| p.trim().parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    match n[..] {
        [f, w, d] if f >= 1 && w >= f && d >= 1 => {
            Ok((f as usize, w as usize, Duration::from_millis(d)))
        }
        _ => Err(bad()),
    }
}

async fn worker(args: &[String]) -> Result<(), String> {
    let a = Args::parse(
        args,
        &[
            "server",
            "queue",
            "worker-id",
            "concurrency",
            "prefetch",
            "work-ms",
            "handles",
            "max-attempts",
            "backoff-initial-ms",
            "grace-ms",
            "grace-delay-ms",
            "token-batch",
            "capacity",
            "reconciler",
            "overloaded-for-ms",
            "fail-first",
            "circuit-breaker",
        ],
    )?;
    let server = a.required("server")?;
    let worker_id = a.required("worker-id")?;
    let work_ms: u64 = a.num("work-ms", 0)?;
    // §15.1: the handler answers overloaded (a pushback) until this long after start.
    let overloaded_until =
        std::time::Instant::now() + Duration::from_millis(a.num("overloaded-for-ms", 0)?);
    // §7.6: the handler fails its first N runs, a failure the circuit breaker counts.
    let fail_first: u64 = a.num("fail-first", 0)?;
    let runs = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let breaker = match a.opt_string("circuit-breaker") {
        Some(v) => Some(parse_breaker(&v)?),
        None => None,
    };
    let handles = parse_handles(&a.string("handles", "sluice.conformance.Work@1-1"))?;
    let client = jsutil::connect(&server, &format!("sluice-rust-worker-{worker_id}"))
        .await
        .map_err(|e| e.to_string())?;
    // The payload's seq, for the `processed` event written once the ack is confirmed.
    let seqs: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let mut b = Worker::builder(client, a.required("queue")?)
        .worker_id(worker_id.clone())
        .concurrency(a.num("concurrency", 4)?)
        .prefetch(a.num("prefetch", 4)?)
        .max_attempts(a.num("max-attempts", 3)?)
        .backoff_initial(Duration::from_millis(a.num("backoff-initial-ms", 100)?))
        .grace(
            Duration::from_millis(a.num("grace-ms", 3000)?),
            Duration::from_millis(a.num("grace-delay-ms", 500)?),
        )
        .token_batch(a.num("token-batch", 8)?)
        .reconciler(a.flag("reconciler").then_some(Duration::from_secs(1)));
    // The conformance peer runs no circuit breaker unless given `--circuit-breaker`: its pauses
    // would be set off by the contract's failing handlers in scenarios about something else.
    b = match breaker {
        Some((failures, window, delay)) => b.circuit_breaker(failures, window, delay),
        None => b.without_circuit_breaker(),
    };
    if let Some(c) = a.opt_num("capacity")? {
        b = b.capacity(c);
    }
    for h in handles {
        let seqs = seqs.clone();
        let runs = runs.clone();
        b = b.handle(
            &h.type_name,
            h.min_version..=h.max_version,
            Json::<Work>::new(),
            move |work: Work, ctx| {
                let seqs = seqs.clone();
                let runs = runs.clone();
                async move {
                    if std::time::Instant::now() < overloaded_until {
                        return Err(HandlerError::overloaded(None));
                    }
                    if runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < fail_first {
                        return Err(HandlerError::retry("--fail-first: the dependency is down"));
                    }
                    if work_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(work_ms)).await;
                    }
                    match work.behavior {
                        Behavior::Poison => {
                            return Err(HandlerError::reject(format!(
                                "poison message seq {}",
                                work.seq
                            )))
                        }
                        Behavior::FailOnce if ctx.attempt() <= 1 => {
                            return Err(HandlerError::retry(format!(
                                "fail-once: failing delivery {}",
                                ctx.attempt()
                            )))
                        }
                        _ => {}
                    }
                    seqs.lock()
                        .unwrap()
                        .insert(ctx.msg_id().to_string(), work.seq);
                    Ok(())
                }
            },
        );
    }
    let id = worker_id.clone();
    let w = b
        .on_event(move |e| match e {
            WorkerEvent::Ready => {
                emit(json!({"event": "ready", "role": "worker", "id": id, "lang": LANGUAGE}))
            }
            WorkerEvent::Processed {
                msg_id,
                attempt,
                trace_id,
                type_name,
                version,
            } => {
                let seq = seqs.lock().unwrap().remove(msg_id);
                emit(
                    json!({"event": "processed", "id": id, "msg_id": msg_id, "seq": seq,
                            "attempt": attempt, "trace_id": trace_id, "type": type_name,
                            "version": version, "lang": LANGUAGE}),
                )
            }
            WorkerEvent::Nak {
                msg_id,
                attempt,
                delay,
                reason,
            } => emit(
                json!({"event": "nak", "id": id, "msg_id": msg_id, "attempt": attempt,
                             "delay_ms": delay.as_millis() as u64, "reason": reason.code()}),
            ),
            WorkerEvent::DeadLettered {
                msg_id,
                reason,
                attempt,
            } => emit(json!({"event": "dead_lettered", "id": id, "msg_id": msg_id,
                             "reason": reason.code(), "attempt": attempt, "lang": LANGUAGE})),
            WorkerEvent::Health { problem: None } => {
                emit(json!({"event": "health", "id": id, "status": "ok"}))
            }
            WorkerEvent::Health { problem: Some(why) } => {
                emit(json!({"event": "health", "id": id, "status": "failing", "reason": why}))
            }
            WorkerEvent::Stopped { processed } => {
                emit(json!({"event": "done", "id": id, "processed": processed}))
            }
            _ => {}
        })
        .build()
        .await
        .map_err(|e| e.to_string())?;
    w.run_until(wait_for_signal())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn produce(args: &[String]) -> Result<(), String> {
    let a = Args::parse(
        args,
        &[
            "server",
            "queue",
            "producer-id",
            "count",
            "type",
            "version",
            "start",
            "behavior",
            "acquire-timeout-ms",
            "fairness-key",
        ],
    )?;
    let server = a.required("server")?;
    let producer_id = a.required("producer-id")?;
    // §15.3: refused at once, as every producer refuses a bad key.
    let fairness_key = a.opt_string("fairness-key");
    if let Some(k) = &fairness_key {
        if !sluice::__internal::fairness::valid_key(k) {
            return Err(format!(
                "--fairness-key {k:?} must be 1-64 characters of [A-Za-z0-9_.:@-]"
            ));
        }
    }
    let behavior: Behavior = serde_json::from_value(json!(a.string("behavior", "ok")))
        .map_err(|_| "--behavior: expected ok, poison or fail-once".to_string())?;
    let count: u64 = a
        .required("count")?
        .parse()
        .map_err(|_| "--count: not a number".to_string())?;
    let version: u32 = a.num("version", 1)?;
    if version == 0 || version > i32::MAX as u32 {
        return Err("--version must be in 1..=2147483647".into());
    }
    let type_name = a.string("type", "sluice.conformance.Work");
    let start: u64 = a.num("start", 0)?;
    let client = jsutil::connect(&server, &format!("sluice-rust-producer-{producer_id}"))
        .await
        .map_err(|e| e.to_string())?;
    let id = producer_id.clone();
    let p = Producer::builder(client, a.required("queue")?)
        .producer_id(producer_id.clone())
        .acquire_timeout(Duration::from_millis(a.num("acquire-timeout-ms", 30000)?))
        .on_event(move |e| {
            if let ProducerEvent::Returned { unspent } = e {
                emit(json!({"event": "returned", "id": id, "unspent": unspent}));
            }
        })
        .build()
        .await
        .map_err(|e| e.to_string())?;
    emit(json!({"event": "ready", "role": "producer", "id": producer_id, "lang": LANGUAGE}));
    let codec = Json::<Work>::new();
    let mut result = Ok(());
    // One send at a time, like the Go and Java peers: waiting sends are a producer's weight in
    // the credit pulls (§6 step 2), so the three producers are comparable.
    for seq in start..start + count {
        let msg = OutgoingMessage::encode(
            type_name.clone(),
            version,
            &codec,
            &Work {
                seq: seq as i64,
                behavior,
            },
        )
        .map_err(|e| e.to_string())?
        .msg_id(format!("{producer_id}-{seq}"));
        let msg = match &fairness_key {
            Some(k) => msg.fairness_key(k.clone()),
            None => msg,
        };
        match p.send(msg).await {
            Ok(r) => emit(
                json!({"event": "sent", "id": producer_id, "msg_id": r.msg_id,
                                 "seq": seq, "trace_id": r.trace.trace_id,
                                 "stream_seq": r.stream_sequence}),
            ),
            Err(e) => {
                result = Err(e.to_string());
                break;
            }
        }
    }
    p.close().await;
    result?;
    emit(json!({"event": "done", "id": producer_id, "sent": p.sent_total()}));
    Ok(())
}

fn schedule_config(args: &[String]) -> Result<ScheduleConfig, String> {
    let a = Args::parse(
        args,
        &[
            "server",
            "queue",
            "producer-id",
            "count",
            "delay-ms",
            "type",
            "version",
            "start",
        ],
    )?;
    let queue = a.required("queue")?;
    let producer_id = a.required("producer-id")?;
    if !names::valid_queue(&queue) {
        return Err(format!("--queue {queue:?} is not a valid queue name"));
    }
    if !names::valid_id(&producer_id) {
        return Err(format!(
            "--producer-id {producer_id:?} is not in the id charset"
        ));
    }
    let count: u64 = a
        .required("count")?
        .parse()
        .map_err(|_| "--count: not a number".to_string())?;
    let version: u32 = a.num("version", 1)?;
    if version == 0 || version > i32::MAX as u32 {
        return Err("--version must be in 1..=2147483647".into());
    }
    Ok(ScheduleConfig {
        server: a.required("server")?,
        queue,
        producer_id,
        count,
        type_name: a.string("type", "sluice.conformance.Work"),
        version,
        start: a.num("start", 0)?,
        delay_ms: a.num("delay-ms", 1000)?,
        store_timeout: Duration::from_secs(10),
    })
}

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first().cloned() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let rest = &argv[1..];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = match cmd.as_str() {
        "worker" => rt.block_on(worker(rest)),
        "produce" => rt.block_on(produce(rest)),
        "schedule" => match schedule_config(rest) {
            Ok(cfg) => rt.block_on(schedule_role::run(cfg)),
            Err(e) => Err(e),
        },
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return;
        }
        other => Err(format!("unknown command {other:?} (see --help)")),
    };
    if let Err(e) = result {
        fail(&e);
    }
    rt.shutdown_timeout(Duration::from_secs(1));
}
