//! End-to-end run of the worker and producer binaries against a real nats-server.
//!
//! The server binary comes from `NATS_SERVER_BIN` or `scripts/setup --print-path`. It listens on a
//! random loopback port with JetStream in a temporary directory, and is killed when the test ends.

use async_nats::jetstream::{self, stream};
use futures_util::StreamExt;
use prost::Message as _;
use serde_json::Value;
use sluice::__internal::names;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::*;

/// A peer process whose JSON-lines stdout is collected.
struct Peer {
    child: Child,
    events: Arc<Mutex<Vec<Value>>>,
    name: String,
    /// Reads stdout until EOF.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    fn start(name: &str, args: &[&str]) -> Peer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice-peer-rust"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("peer binary");
        let events = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = events.clone();
        let label = name.to_string();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => sink.lock().unwrap().push(v),
                    Err(_) => panic!("{label}: stdout line is not JSON: {line}"),
                }
            }
        });
        Peer {
            child,
            events,
            name: name.to_string(),
            reader: Some(reader),
        }
    }

    fn events(&self, kind: &str) -> Vec<Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == kind)
            .cloned()
            .collect()
    }

    async fn wait_event(&self, kind: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self.events(kind).into_iter().next() {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no {kind} event within {timeout:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Every line the peer wrote is read once its stdout is closed.
                if let Some(r) = self.reader.take() {
                    let _ = r.join();
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {timeout:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn signal_term(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

// ------------------------------------------------------------------ the test

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_and_producer_against_a_real_server() {
    let server = start_server().await;
    let client = async_nats::connect(&server.url).await.unwrap();
    let js = jetstream::new(client.clone());
    let q = unique("rt");
    provision(&js, &q).await;

    // W = concurrency + prefetch = 4 credits in circulation.
    let minted: u64 = 4;
    mint(&js, &q, &[2, 2]).await;
    assert_eq!(stored_credits(&js, &q).await, minted);

    let url = server.url.as_str();
    let mut worker = Peer::start(
        "worker",
        &[
            "worker",
            "--server",
            url,
            "--queue",
            &q,
            "--worker-id",
            "rw1",
            "--concurrency",
            "2",
            "--prefetch",
            "2",
            "--work-ms",
            "5",
            "--token-batch",
            "2",
            "--backoff-initial-ms",
            "50",
        ],
    );
    let ready = worker.wait_event("ready", Duration::from_secs(20)).await;
    assert_eq!(ready["role"], "worker");
    assert_eq!(ready["lang"], "rust");
    let cap = js.get_key_value(names::CAPACITY_BUCKET).await.unwrap();
    assert!(
        cap.get(names::capacity_key(&q, "rw1"))
            .await
            .unwrap()
            .is_some(),
        "advert written on start"
    );

    // §4.3 policy FAIL: a live worker exists and none handles version 2.
    let mut p_v2 = Peer::start(
        "producer-v2",
        &[
            "produce",
            "--server",
            url,
            "--queue",
            &q,
            "--producer-id",
            "rp-v2",
            "--count",
            "1",
            "--version",
            "2",
        ],
    );
    assert!(!p_v2.wait_exit(Duration::from_secs(20)).await.success());
    let err = p_v2.wait_event("error", Duration::from_secs(1)).await;
    let text = err["message"].as_str().unwrap();
    assert!(
        text.contains("version not handled") && text.contains("sluice.conformance.Work@1-1"),
        "{err}"
    );
    assert!(p_v2.events("sent").is_empty());

    // Watch the backlog while producers run: it must never exceed the circulating credits.
    let max_backlog = Arc::new(Mutex::new(0u64));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (js, q, max_backlog, stop) = (js.clone(), q.clone(), max_backlog.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let b = backlog(&js, &q).await;
                {
                    let mut m = max_backlog.lock().unwrap();
                    *m = (*m).max(b);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let ok_count = 40u64;
    let mut p_ok = Peer::start(
        "producer-ok",
        &[
            "produce",
            "--server",
            url,
            "--queue",
            &q,
            "--producer-id",
            "rp-ok",
            "--count",
            &ok_count.to_string(),
        ],
    );
    let mut p_poison = Peer::start(
        "producer-poison",
        &[
            "produce",
            "--server",
            url,
            "--queue",
            &q,
            "--producer-id",
            "rp-poison",
            "--count",
            "1",
            "--start",
            "1000",
            "--behavior",
            "poison",
        ],
    );
    let mut p_flaky = Peer::start(
        "producer-flaky",
        &[
            "produce",
            "--server",
            url,
            "--queue",
            &q,
            "--producer-id",
            "rp-flaky",
            "--count",
            "3",
            "--start",
            "2000",
            "--behavior",
            "fail-once",
        ],
    );
    for p in [&mut p_ok, &mut p_poison, &mut p_flaky] {
        let status = p.wait_exit(Duration::from_secs(60)).await;
        assert!(status.success(), "{} exited with {status}", p.name);
    }
    assert_eq!(p_ok.events("sent").len() as u64, ok_count);
    assert_eq!(
        p_ok.wait_event("done", Duration::from_secs(1)).await["sent"],
        ok_count
    );
    assert_eq!(p_poison.events("sent").len(), 1);
    assert_eq!(p_flaky.events("sent").len(), 3);
    for e in p_ok.events("sent") {
        let trace = e["trace_id"].as_str().unwrap();
        assert_eq!(trace.len(), 32);
        assert!(e["stream_seq"].as_u64().unwrap() > 0);
    }

    // Every good message is processed exactly once; the poison one is dead-lettered.
    let expected: BTreeSet<String> = (0..ok_count)
        .map(|s| format!("rp-ok-{s}"))
        .chain((2000..2003).map(|s| format!("rp-flaky-{s}")))
        .collect();
    eventually(
        "all messages processed and the stream drained",
        Duration::from_secs(30),
        || {
            let (w, js, q, n) = (&worker, &js, &q, expected.len());
            async move {
                w.events("processed").len() >= n
                    && !w.events("dead_lettered").is_empty()
                    && backlog(js, q).await == 0
            }
        },
    )
    .await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    watcher.await.unwrap();

    let processed = worker.events("processed");
    let mut seen = BTreeMap::new();
    for e in &processed {
        *seen
            .entry(e["msg_id"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
        assert_eq!(e["lang"], "rust");
        assert_eq!(e["type"], "sluice.conformance.Work");
        assert_eq!(e["version"], 1);
        assert_eq!(e["trace_id"].as_str().unwrap().len(), 32);
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "a message was processed more than once: {seen:?}"
    );
    assert_eq!(seen.keys().cloned().collect::<BTreeSet<_>>(), expected);
    // The trace continues: the worker reports the producer's trace id.
    let sent_trace: BTreeMap<String, String> = p_ok
        .events("sent")
        .iter()
        .map(|e| {
            (
                e["msg_id"].as_str().unwrap().to_string(),
                e["trace_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for e in &processed {
        if let Some(t) = sent_trace.get(e["msg_id"].as_str().unwrap()) {
            assert_eq!(e["trace_id"].as_str().unwrap(), t);
        }
    }
    // fail-once: attempt 1 NAKed with reason retry, attempt 2 processed.
    let naks = worker.events("nak");
    for s in 2000..2003 {
        let id = format!("rp-flaky-{s}");
        assert!(
            naks.iter()
                .any(|n| n["msg_id"] == id.as_str() && n["reason"] == "retry" && n["attempt"] == 1),
            "no retry nak for {id}"
        );
        assert!(processed
            .iter()
            .any(|p| p["msg_id"] == id.as_str() && p["attempt"] == 2));
    }

    let dead = worker.events("dead_lettered");
    assert_eq!(dead.len(), 1, "dead letters: {dead:?}");
    assert_eq!(dead[0]["msg_id"], "rp-poison-1000");
    assert_eq!(dead[0]["reason"], "rejected");
    assert_eq!(dead[0]["attempt"], 1);

    // One record in the DLQ stream with the §8 headers and the original payload.
    let dlq = js.get_stream(names::DLQ_STREAM).await.unwrap();
    let dlq_info = dlq
        .info_with_subjects(names::dlq_subject(&q))
        .await
        .unwrap();
    let counts: Vec<(String, usize)> = dlq_info.map(|r| r.unwrap()).collect().await;
    assert_eq!(counts, vec![(names::dlq_subject(&q), 1)]);
    let rec = dlq
        .get_last_raw_message_by_subject(&names::dlq_subject(&q))
        .await
        .unwrap();
    let h = |name: &str| {
        rec.headers
            .get(name)
            .map(|v| v.as_str().to_string())
            .unwrap_or_else(|| panic!("record lacks {name}"))
    };
    let seq: u64 = h("Sluice-Dlq-Stream-Seq").parse().unwrap();
    assert_eq!(
        h("Nats-Msg-Id"),
        format!("dlq.{}.{seq}", names::work_stream(&q))
    );
    assert_eq!(h("Sluice-Dlq-Msg-Id"), "rp-poison-1000");
    assert_eq!(h("Sluice-Dlq-Reason"), "rejected");
    assert!(!h("Sluice-Dlq-Error").is_empty());
    assert_eq!(h("Sluice-Dlq-Attempts"), "1");
    assert_eq!(h("Sluice-Dlq-Stream"), names::work_stream(&q));
    assert_eq!(h("Sluice-Dlq-Subject"), names::work_subject(&q));
    assert_eq!(h("Sluice-Dlq-Worker"), "rw1");
    let at: i64 = h("Sluice-Dlq-At").parse().unwrap();
    assert!((at - sluice::__internal::now_unix_ms()).abs() < 120_000);
    assert_eq!(h("Sluice-Protocol"), "1");
    assert_eq!(h("Sluice-Type"), "sluice.conformance.Work");
    assert_eq!(h("Sluice-Type-Version"), "1");
    assert_eq!(h("Sluice-Producer"), "rp-poison");
    assert!(sluice::__internal::trace::parse_traceparent(&h("traceparent")).is_some());
    let body: Value = serde_json::from_slice(&rec.payload).unwrap();
    assert_eq!(body, serde_json::json!({"seq": 1000, "behavior": "poison"}));

    // Flow control held: the backlog never exceeded the circulating credits, and every credit
    // came back (B = 0, nothing held or owed: T = minted).
    let max_b = *max_backlog.lock().unwrap();
    eprintln!("max backlog observed: {max_b} (credits {minted})");
    assert!(
        max_b <= minted,
        "backlog reached {max_b} with {minted} credits"
    );
    // A producer returns a partly spent token by acking it (§6.7 [v1.1]); with no reconciler in
    // this fleet, every credit is either stored or reported returned: a lost or duplicated credit
    // breaks the sum.
    eventually(
        "every credit stored or returned",
        Duration::from_secs(15),
        || {
            let (js, q) = (&js, &q);
            let returned: u64 = [&p_ok, &p_poison, &p_flaky]
                .iter()
                .flat_map(|p| p.events("returned"))
                .map(|e| e["unspent"].as_u64().unwrap())
                .sum();
            async move { stored_credits(js, q).await + returned == minted }
        },
    )
    .await;
    let ctl = js.get_key_value(names::CONTROL_BUCKET).await.unwrap();
    for p in ["rp-ok", "rp-poison", "rp-flaky"] {
        assert!(
            ctl.get(names::producer_key(&q, p)).await.unwrap().is_none(),
            "report of {p} not deleted"
        );
    }

    // Clean shutdown: done, exit 0, advert deleted.
    worker.signal_term();
    let status = worker.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "worker exited with {status}");
    let done = worker.wait_event("done", Duration::from_secs(1)).await;
    assert_eq!(done["processed"], expected.len() as u64);
    assert!(
        cap.get(names::capacity_key(&q, "rw1"))
            .await
            .unwrap()
            .is_none(),
        "advert not deleted"
    );
    let returned: u64 = [&p_ok, &p_poison, &p_flaky]
        .iter()
        .flat_map(|p| p.events("returned"))
        .map(|e| e["unspent"].as_u64().unwrap())
        .sum();
    assert_eq!(stored_credits(&js, &q).await + returned, minted);
    drop(server);
}

/// A producer with no credits and no workers fails after the acquire timeout, naming the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_without_workers_times_out() {
    let server = start_server().await;
    let js = jetstream::new(async_nats::connect(&server.url).await.unwrap());
    let q = unique("rt");
    provision(&js, &q).await;
    let mut p = Peer::start(
        "producer",
        &[
            "produce",
            "--server",
            &server.url,
            "--queue",
            &q,
            "--producer-id",
            "lonely",
            "--count",
            "1",
            "--acquire-timeout-ms",
            "1500",
        ],
    );
    let status = p.wait_exit(Duration::from_secs(20)).await;
    assert!(!status.success());
    let err = p.wait_event("error", Duration::from_secs(1)).await;
    assert!(
        err["message"].as_str().unwrap().contains("no live workers"),
        "{err}"
    );
    assert_eq!(backlog(&js, &q).await, 0);
}

/// The `schedule` role stores one entry per message in the queue's schedule stream (§13.2,
/// §13.3) and takes no credit; without a schedule stream it fails and says to provision; a version
/// no live worker handles is refused (§4.3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_role_stores_entries_and_takes_no_credit() {
    use sluice::__internal::schedule;
    let server = start_server().await;
    let js = jetstream::new(async_nats::connect(&server.url).await.unwrap());
    let q = unique("rt");
    provision(&js, &q).await;
    let args = [
        "schedule",
        "--server",
        &server.url,
        "--queue",
        &q,
        "--producer-id",
        "s1",
        "--count",
        "2",
        "--delay-ms",
        "60000",
    ];

    let mut p = Peer::start("schedule", &args);
    assert!(!p.wait_exit(Duration::from_secs(20)).await.success());
    let err = p.wait_event("error", Duration::from_secs(1)).await;
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains(&schedule::stream(&q)) && message.contains("provisioning"),
        "{err}"
    );

    // §13.2's schedule stream.
    js.create_stream(stream::Config {
        name: schedule::stream(&q),
        subjects: vec![format!("sluice.sched.{q}.>")],
        retention: stream::RetentionPolicy::Limits,
        max_messages_per_subject: 1,
        discard: stream::DiscardPolicy::Old,
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await
    .expect("schedule stream");
    let before = sluice::__internal::now_unix_ms();
    let mut p = Peer::start("schedule", &args);
    assert!(p.wait_exit(Duration::from_secs(20)).await.success());
    let after = sluice::__internal::now_unix_ms();
    assert_eq!(p.events("done")[0]["sent"], 2);
    let scheduled = p.events("scheduled");
    assert_eq!(scheduled.len(), 2);
    let entries = js.get_stream(schedule::stream(&q)).await.unwrap();
    for (seq, e) in scheduled.iter().enumerate() {
        let id = format!("s1-{seq}");
        assert_eq!(e["msg_id"], id.as_str());
        let due = e["due_unix_ms"].as_i64().unwrap();
        assert!(
            (before + 60_000..=after + 60_000).contains(&due),
            "due {due}"
        );
        let m = entries
            .get_last_raw_message_by_subject(&schedule::subject(&q, &id))
            .await
            .unwrap();
        assert_eq!(Some(m.sequence), e["stream_seq"].as_u64());
        let h = |name: &str| m.headers.get(name).unwrap().as_str().to_string();
        assert_eq!(h("Nats-Msg-Id"), schedule::entry_msg_id(&id, due));
        assert_eq!(h(schedule::SCHEDULE_ID), id);
        assert_eq!(h(schedule::DUE_AT), due.to_string());
        assert_eq!(h("Sluice-Type"), "sluice.conformance.Work");
        assert_eq!(h("Sluice-Producer"), "s1");
        let tp = sluice::__internal::trace::parse_traceparent(&h("traceparent")).unwrap();
        assert_eq!(e["trace_id"], tp.trace_id.as_str());
        let body: Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(body["seq"], seq);
    }
    // Nothing entered the queue: a schedule spends its credit when it fires, not before.
    assert_eq!(backlog(&js, &q).await, 0);

    // §4.3 applies when a message is scheduled: a live worker that handles only version 1
    // refuses version 2, and nothing is stored.
    use sluice::__internal::proto::{CapacityAdvert, HandledType, WorkerState};
    let advert = CapacityAdvert {
        worker_id: "w1".into(),
        queue: q.clone(),
        protocol_version: 1,
        capacity: 8,
        handled: vec![HandledType {
            r#type: "sluice.conformance.Work".into(),
            min_version: 1,
            max_version: 1,
        }],
        heartbeat_unix_ms: sluice::__internal::now_unix_ms(),
        ttl_ms: 60_000,
        state: WorkerState::Running as i32,
        ..Default::default()
    };
    js.get_key_value(names::CAPACITY_BUCKET)
        .await
        .unwrap()
        .put(names::capacity_key(&q, "w1"), advert.encode_to_vec().into())
        .await
        .unwrap();
    let mut args_v2 = args.to_vec();
    args_v2.extend(["--version", "2", "--start", "10"]);
    let mut p = Peer::start("schedule-v2", &args_v2);
    assert!(!p.wait_exit(Duration::from_secs(20)).await.success());
    let err = p.wait_event("error", Duration::from_secs(1)).await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("version not handled"),
        "{err}"
    );
    assert!(p.events("scheduled").is_empty());
    assert!(entries
        .get_last_raw_message_by_subject(&schedule::subject(&q, "s1-10"))
        .await
        .is_err());
}

/// The work stream's hard wall (`max_msgs` with `discard: new`) answers with JetStream error
/// 10077, which the producer treats as back-pressure (§6 step 5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hard_wall_is_error_10077() {
    let server = start_server().await;
    let js = jetstream::new(async_nats::connect(&server.url).await.unwrap());
    let q = unique("rt");
    js.create_stream(stream::Config {
        name: names::work_stream(&q),
        subjects: vec![names::work_subject(&q)],
        retention: stream::RetentionPolicy::WorkQueue,
        discard: stream::DiscardPolicy::New,
        max_messages: 2,
        ..Default::default()
    })
    .await
    .unwrap();
    for _ in 0..2 {
        js.publish(names::work_subject(&q), "x".into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let err = js
        .publish(names::work_subject(&q), "x".into())
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert!(sluice::__internal::jsutil::is_hard_limit(&err), "{err}");
    assert_eq!(
        sluice::__internal::jsutil::publish_error_code(&err),
        Some(10077),
        "{err}"
    );
}

/// Deliveries the worker cannot run: invalid headers, undecodable payloads and types it does not
/// handle (NAKed during the grace period, then dead-lettered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_dead_letters_what_it_cannot_run() {
    let server = start_server().await;
    let js = jetstream::new(async_nats::connect(&server.url).await.unwrap());
    let q = unique("rt");
    provision(&js, &q).await;
    let mut worker = Peer::start(
        "worker",
        &[
            "worker",
            "--server",
            &server.url,
            "--queue",
            &q,
            "--worker-id",
            "rw2",
            "--grace-ms",
            "600",
            "--grace-delay-ms",
            "200",
        ],
    );
    worker.wait_event("ready", Duration::from_secs(20)).await;

    let publish = |id: Option<&str>, typ: &str, version: Option<&str>, body: &str| {
        let mut h = async_nats::HeaderMap::new();
        if let Some(id) = id {
            h.insert("Nats-Msg-Id", id);
        }
        h.insert("Sluice-Protocol", "1");
        h.insert("Sluice-Type", typ);
        if let Some(v) = version {
            h.insert("Sluice-Type-Version", v);
        }
        let (js, subject, body) = (js.clone(), names::work_subject(&q), body.to_string());
        async move {
            js.publish_with_headers(subject, h, body.into())
                .await
                .unwrap()
                .await
                .unwrap()
        }
    };
    let work = "sluice.conformance.Work";
    publish(
        Some("t-missing"),
        work,
        None,
        r#"{"seq":1,"behavior":"ok"}"#,
    )
    .await;
    publish(
        Some("t-bad"),
        work,
        Some("01"),
        r#"{"seq":2,"behavior":"ok"}"#,
    )
    .await;
    publish(Some("t-undecodable"), work, Some("1"), "not json").await;
    publish(
        Some("t-other"),
        "acme.Other",
        Some("1"),
        r#"{"seq":4,"behavior":"ok"}"#,
    )
    .await;
    publish(
        Some("t-newer"),
        work,
        Some("7"),
        r#"{"seq":5,"behavior":"ok"}"#,
    )
    .await;
    publish(None, work, Some("1"), r#"{"seq":6,"behavior":"ok"}"#).await;

    let want = [
        (Some("t-missing"), "missing-header"),
        (Some("t-bad"), "bad-header"),
        (Some("t-undecodable"), "decode-error"),
        (Some("t-other"), "unknown-type"),
        (Some("t-newer"), "unsupported-version"),
        (None, "missing-header"),
    ];
    eventually(
        "every bad delivery dead-lettered",
        Duration::from_secs(20),
        || {
            let w = &worker;
            async move { w.events("dead_lettered").len() >= want.len() }
        },
    )
    .await;
    let dead = worker.events("dead_lettered");
    assert_eq!(dead.len(), want.len(), "{dead:?}");
    for (id, reason) in want {
        let id_json = id.map(Value::from).unwrap_or(Value::Null);
        assert!(
            dead.iter()
                .any(|d| d["msg_id"] == id_json && d["reason"] == reason),
            "no {reason} for {id:?}: {dead:?}"
        );
    }
    // Not handled here: NAKed with the grace delay before the grace period ran out.
    let naks = worker.events("nak");
    for id in ["t-other", "t-newer"] {
        assert!(
            naks.iter()
                .any(|n| n["msg_id"] == id && n["reason"] == "not-handled" && n["delay_ms"] == 200),
            "{naks:?}"
        );
    }
    assert!(worker.events("processed").is_empty());
    let dlq = js.get_stream(names::DLQ_STREAM).await.unwrap();
    let counts: Vec<(String, usize)> = dlq
        .info_with_subjects(names::dlq_subject(&q))
        .await
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(counts, vec![(names::dlq_subject(&q), want.len())]);
    eventually("work stream drained", Duration::from_secs(5), || {
        let (js, q) = (&js, &q);
        async move { backlog(js, q).await == 0 }
    })
    .await;
    // Every finished delivery owes a credit: six dead letters mint six credits.
    eventually("six credits minted", Duration::from_secs(10), || {
        let (js, q) = (&js, &q);
        async move { stored_credits(js, q).await == 6 }
    })
    .await;

    // A good message after all that is processed normally.
    publish(
        Some("t-once"),
        work,
        Some("1"),
        r#"{"seq":7,"behavior":"ok"}"#,
    )
    .await;
    eventually("t-once processed", Duration::from_secs(10), || {
        let w = &worker;
        async move { w.events("processed").len() == 1 }
    })
    .await;
    worker.signal_term();
    assert!(worker.wait_exit(Duration::from_secs(30)).await.success());
    assert_eq!(
        worker.wait_event("done", Duration::from_secs(1)).await["processed"],
        1
    );
}

/// A Rust-only fleet keeps its credits whole (§5.5): two workers that may run the reconciler, a
/// producer, and one worker killed with SIGKILL while it holds deliveries and owes credits. The
/// survivor's reconciler mints the first credits of the fresh queue, heals what the dead worker
/// took with it, burns the window it no longer has, and every message is processed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_fleet_with_reconciler_heals_after_sigkill() {
    let server = start_server().await;
    let js = jetstream::new(async_nats::connect(&server.url).await.unwrap());
    let q = unique("rf");
    provision_with_ack_wait(&js, &q, Duration::from_secs(4)).await;
    let worker = |id: &str| {
        Peer::start(
            id,
            &[
                "worker",
                "--server",
                &server.url,
                "--queue",
                &q,
                "--worker-id",
                id,
                "--concurrency",
                "2",
                "--prefetch",
                "2",
                "--work-ms",
                "40",
                "--reconciler",
            ],
        )
    };
    let mut doomed = worker("doomed");
    let survivor = worker("survivor");
    doomed.wait_event("ready", Duration::from_secs(10)).await;
    survivor.wait_event("ready", Duration::from_secs(10)).await;
    // No standing buffer and no bootstrap: only the reconciler can mint the first credits.
    eventually(
        "the reconciler mints the window of 8",
        Duration::from_secs(15),
        || async { stored_credits(&js, &q).await == 8 },
    )
    .await;
    let count = 80;
    let producer = Peer::start(
        "producer",
        &[
            "produce",
            "--server",
            &server.url,
            "--queue",
            &q,
            "--producer-id",
            "p",
            "--count",
            &count.to_string(),
            "--acquire-timeout-ms",
            "60000",
        ],
    );
    eventually(
        "the doomed worker is busy",
        Duration::from_secs(20),
        || async { doomed.events("processed").len() >= 10 },
    )
    .await;
    doomed.child.kill().unwrap(); // SIGKILL: no drain, no advert delete, owed credits lost
    doomed.child.wait().unwrap();
    let mut producer = producer;
    let status = producer.wait_exit(Duration::from_secs(90)).await;
    assert!(
        status.success(),
        "producer failed: {:?}",
        producer.events("error")
    );
    let processed = |p: &Peer| -> BTreeSet<String> {
        p.events("processed")
            .iter()
            .map(|e| e["msg_id"].as_str().unwrap().to_string())
            .collect()
    };
    eventually(
        "every message processed",
        Duration::from_secs(60),
        || async { processed(&survivor).union(&processed(&doomed)).count() == count },
    )
    .await;
    // W is now the survivor's capacity alone: B + T = W once the reconciler has burned the
    // dead worker's share and minted what it owed.
    eventually("B + T = W = 4", Duration::from_secs(30), || async {
        backlog(&js, &q).await + stored_credits(&js, &q).await == 4
    })
    .await;
    // ... and it stays so.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(backlog(&js, &q).await + stored_credits(&js, &q).await, 4);
}
