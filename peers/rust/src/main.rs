//! `sluice-peer-rust`: the peer command-line contract of peers/README.md, on the crate's public
//! API (the `schedule` role uses the crate's internal schedule code).

mod cli;

use clap::Parser;
use cli::{Behavior, Cli, ProduceArgs, Role, ScheduleArgs, WorkerArgs};
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

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

async fn worker(a: WorkerArgs) -> Result<(), String> {
    let (server, worker_id, work_ms) = (a.common.server, a.worker_id, a.work_ms);
    // §15.1: the handler answers overloaded (a pushback) until this long after start.
    let overloaded_until = std::time::Instant::now() + Duration::from_millis(a.overloaded_for_ms);
    // §7.6: the handler fails its first N runs, a failure the circuit breaker counts.
    let fail_first = a.fail_first;
    let runs = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let client = jsutil::connect(&server, &format!("sluice-rust-worker-{worker_id}"))
        .await
        .map_err(|e| e.to_string())?;
    // The payload's seq, for the `processed` event written once the ack is confirmed.
    let seqs: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let mut b = Worker::builder(client, a.common.queue)
        .worker_id(worker_id.clone())
        .concurrency(a.concurrency)
        .prefetch(a.prefetch)
        .max_attempts(a.max_attempts)
        .backoff_initial(Duration::from_millis(a.backoff_initial_ms))
        .grace(
            Duration::from_millis(a.grace_ms),
            Duration::from_millis(a.grace_delay_ms),
        )
        .token_batch(a.token_batch)
        .reconciler(a.reconciler.then_some(Duration::from_secs(1)));
    // The conformance peer runs no circuit breaker unless given `--circuit-breaker`: its pauses
    // would be set off by the contract's failing handlers in scenarios about something else.
    b = match a.circuit_breaker {
        Some(c) => b.circuit_breaker(c.failures, c.window, c.delay),
        None => b.without_circuit_breaker(),
    };
    if let Some(c) = a.capacity {
        b = b.capacity(c);
    }
    for h in a.handles.0 {
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

async fn produce(a: ProduceArgs) -> Result<(), String> {
    let (server, producer_id) = (a.common.server, a.producer_id);
    // §15.3: refused at once, as every producer refuses a bad key.
    let fairness_key = a.fairness_key;
    if let Some(k) = &fairness_key {
        if !sluice::__internal::fairness::valid_key(k) {
            return Err(format!(
                "--fairness-key {k:?} must be 1-64 characters of [A-Za-z0-9_.:@-]"
            ));
        }
    }
    let (behavior, count, version, start) = (a.behavior, a.count, a.version, a.start);
    let type_name = a.type_name;
    let client = jsutil::connect(&server, &format!("sluice-rust-producer-{producer_id}"))
        .await
        .map_err(|e| e.to_string())?;
    let id = producer_id.clone();
    let p = Producer::builder(client, a.common.queue)
        .producer_id(producer_id.clone())
        .acquire_timeout(Duration::from_millis(a.acquire_timeout_ms))
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

fn schedule_config(a: ScheduleArgs) -> Result<ScheduleConfig, String> {
    let (queue, producer_id) = (a.common.queue, a.producer_id);
    if !names::valid_queue(&queue) {
        return Err(format!("--queue {queue:?} is not a valid queue name"));
    }
    if !names::valid_id(&producer_id) {
        return Err(format!(
            "--producer-id {producer_id:?} is not in the id charset"
        ));
    }
    Ok(ScheduleConfig {
        server: a.common.server,
        queue,
        producer_id,
        count: a.count,
        type_name: a.type_name,
        version: a.version,
        start: a.start,
        delay_ms: a.delay_ms,
        store_timeout: Duration::from_secs(10),
    })
}

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // No role given: the usage on stderr, exit 2.
            let _ = e.print();
            std::process::exit(2);
        }
        Err(e) if !e.use_stderr() => {
            // --help: the usage on stdout, exit 0.
            let _ = e.print();
            return;
        }
        // One line, as the contract's error event: clap's message up to its usage.
        Err(e) => {
            let text = e.to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            fail(&format!("{} (see --help)", message.join(" ")))
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = match cli.role {
        Role::Worker(a) => rt.block_on(worker(a)),
        Role::Produce(a) => rt.block_on(produce(a)),
        Role::Schedule(a) => match schedule_config(a) {
            Ok(cfg) => rt.block_on(schedule_role::run(cfg)),
            Err(e) => Err(e),
        },
    };
    if let Err(e) = result {
        fail(&e);
    }
    rt.shutdown_timeout(Duration::from_secs(1));
}
