//! Runs every golden vector file in `protocol/vectors` against this implementation.

use prost::Message;
use serde_json::{json, Map, Value};
use sluice::__internal::backoff::{nak_delay, Backoff};
use sluice::__internal::credits::{
    burn_amount, decompose, linger_ms, reconcile, service_rate, token_id, window, AdvertView,
    Bounds, ReconcileAction,
};
use sluice::__internal::dlq::{
    header_size, record_headers, reduce_record, replay_headers, RecordInfo, DROPPED_LIST_MAX_CHARS,
    ERROR_MAX_CHARS, HEADER_LIMIT, REASONS,
};
use sluice::__internal::headers::{validate, Validation};
use sluice::__internal::idempotency::{id_key, store_key};
use sluice::__internal::names;
use sluice::__internal::outcome::{
    after_handler, precheck, Delivery, Final, HandledType, HandlerResult, Precheck, Settings,
};
use sluice::__internal::proto;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../protocol/vectors")
}

fn load(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not an array"))
}

fn header_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

fn header_list(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// Every file in the directory is one this suite knows; a new vector file fails the build until
/// it is wired in here.
#[test]
fn every_vector_file_is_covered() {
    let known = [
        "backoff.json",
        "credits.json",
        "dlq.json",
        "dlq_reduced.json",
        "headers.json",
        "idempotency.json",
        "outcomes.json",
        "protobuf.json",
        "pushback.json",
    ];
    let mut found: Vec<String> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    found.sort();
    assert_eq!(
        found, known,
        "vector files changed: wire new ones into tests/vectors.rs"
    );
}

#[test]
fn backoff_vectors() {
    let doc = load("backoff.json");
    let mut checked = 0;
    for case in arr(&doc, "cases") {
        let p = &case["params"];
        let b = Backoff {
            initial_ms: p["initial_ms"].as_f64().unwrap(),
            multiplier: p["multiplier"].as_f64().unwrap(),
            max_delay_ms: p["max_delay_ms"].as_f64().unwrap(),
            jitter: p["jitter"].as_f64().unwrap(),
        };
        for a in arr(case, "attempts") {
            let k = a["attempt"].as_u64().unwrap();
            let close = |got: f64, want: &Value, what: &str| {
                let want = want.as_f64().unwrap();
                assert!(
                    (got - want).abs() <= 1e-6,
                    "{p} attempt {k} {what}: got {got}, want {want}"
                );
            };
            close(b.base_ms(k), &a["delay_ms"], "delay_ms");
            let (lo, hi) = b.bounds_ms(k);
            close(lo, &a["min_ms"], "min_ms");
            close(hi, &a["max_ms"], "max_ms");
            for at in arr(a, "at_u") {
                close(
                    b.delay_ms_at(k, at["u"].as_f64().unwrap()),
                    &at["delay_ms"],
                    "at_u",
                );
                assert_eq!(
                    nak_delay(b.delay_ms_at(k, at["u"].as_f64().unwrap())).as_nanos() as u64,
                    at["delay_ns"].as_u64().unwrap(),
                    "{p} attempt {k} delay_ns"
                );
                checked += 1;
            }
            // Random delays stay in bounds.
            for _ in 0..20 {
                let d = b.delay(k).as_secs_f64() * 1000.0;
                assert!(
                    d >= lo - 1e-6 && d <= hi + 1e-6,
                    "random delay {d} outside [{lo}, {hi}]"
                );
            }
        }
    }
    assert!(checked > 0);
}

#[test]
fn credits_vectors() {
    let doc = load("credits.json");
    for c in arr(&doc, "decompose") {
        let got = decompose(
            c["credits"].as_u64().unwrap(),
            c["batch"].as_u64().unwrap() as u32,
        );
        let want: Vec<u32> = arr(c, "tokens")
            .iter()
            .map(|t| t.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(got, want, "decompose {c}");
    }
    for c in arr(&doc, "window") {
        let adverts: Vec<AdvertView> = arr(c, "adverts")
            .iter()
            .map(|a| AdvertView {
                capacity: a["capacity"].as_u64().unwrap() as u32,
                running: a["state"] == "RUNNING",
                heartbeat_unix_ms: a["heartbeat_unix_ms"].as_i64().unwrap(),
                ttl_ms: a["ttl_ms"].as_u64().unwrap() as u32,
            })
            .collect();
        let got = window(
            c["standing_buffer"].as_u64().unwrap() as u32,
            Bounds {
                max_worker_capacity: u(c, "max_worker_capacity") as u32,
                max_window: u(c, "max_window") as u32,
            },
            &adverts,
            c["now_unix_ms"].as_i64().unwrap(),
        );
        assert_eq!(got, c["window"].as_u64().unwrap(), "window {}", c["name"]);
    }
    for c in arr(&doc, "reconcile") {
        let u = |k: &str| c[k].as_u64().unwrap();
        let (d, action) = reconcile(
            u("window"),
            u("backlog"),
            u("tokens"),
            u("held_spent"),
            u("owed"),
            c["previous_deficit"].as_i64().unwrap(),
        );
        assert_eq!(d, c["deficit"].as_i64().unwrap(), "deficit {}", c["name"]);
        let (kind, credits) = match action {
            ReconcileAction::None => ("none", 0),
            ReconcileAction::Mint(n) => ("mint", n),
            ReconcileAction::Burn(n) => ("burn", n),
        };
        assert_eq!(kind, c["action"].as_str().unwrap(), "action {}", c["name"]);
        assert_eq!(
            credits,
            c["credits"].as_u64().unwrap(),
            "credits {}",
            c["name"]
        );
        let burn = if kind == "burn" {
            burn_amount(
                credits,
                u("live_producers"),
                u("token_batch"),
                c["held_tokens"].as_u64().unwrap_or(0),
                c["held_spent"].as_u64().unwrap_or(0),
            )
        } else {
            0
        };
        assert_eq!(burn, u("burn"), "burn {}", c["name"]);
    }
    for c in arr(&doc, "linger") {
        assert_eq!(
            linger_ms(
                c["batch"].as_u64().unwrap() as u32,
                c["service_rate"].as_f64().unwrap()
            ),
            c["linger_ms"].as_u64().unwrap(),
            "linger {c}"
        );
    }
    assert!(!arr(&doc, "service_rate").is_empty());
    for c in arr(&doc, "service_rate") {
        let mut rate = 0.0;
        for h in arr(c, "heartbeats") {
            rate = service_rate(
                rate,
                h["completed"].as_u64().unwrap(),
                h["dt_ms"].as_f64().unwrap() / 1000.0,
            );
            let want = h["service_rate"].as_f64().unwrap();
            assert!(
                (rate - want).abs() <= 1e-9 * want + 1e-12,
                "service rate {}: {rate} want {want}",
                c["name"]
            );
        }
    }
    let pattern = doc["token_id_pattern"].as_str().unwrap();
    assert_eq!(
        pattern,
        r"^[A-Za-z0-9_-]{1,64}\.[0-9a-f]{8,32}\.[1-9][0-9]*$"
    );
    for c in arr(&doc, "token_ids") {
        let id = c["msg_id"].as_str().unwrap();
        if let Some(m) = c["minter_id"].as_str() {
            assert_eq!(
                token_id(
                    m,
                    c["nonce"].as_str().unwrap(),
                    c["counter"].as_u64().unwrap()
                ),
                id
            );
        }
        assert_eq!(
            token_id_valid(id),
            c["valid"].as_bool().unwrap(),
            "token id {id}"
        );
    }
    assert!(!arr(&doc, "effective_batch").is_empty());
    for c in arr(&doc, "effective_batch") {
        assert_eq!(
            sluice::__internal::credits::effective_batch(
                c["batch"].as_u64().unwrap() as u32,
                c["capacity"].as_u64().unwrap() as u32
            ),
            c["effective_batch"].as_u64().unwrap() as u32,
            "b' {c}"
        );
    }
    for c in arr(&doc, "mint_back") {
        let back: Vec<u32> = arr(c, "mint_back")
            .iter()
            .map(|t| t.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(
            decompose(
                c["token"].as_u64().unwrap() - c["need"].as_u64().unwrap(),
                c["batch"].as_u64().unwrap() as u32
            ),
            back,
            "mint back {c}"
        );
    }
    // [v1.3] the debt an audit announces, and when a pending debt holds back a mint (§5.5).
    assert!(!arr(&doc, "debt").is_empty());
    for c in arr(&doc, "debt") {
        let (debt, backlog, owed) = (u(c, "debt"), u(c, "backlog"), u(c, "owed"));
        let payable = sluice::__internal::credits::debt_payable(backlog, owed, debt);
        assert_eq!(payable, u(c, "payable"), "payable {c}");
        assert_eq!(
            payable == 0,
            c["fetch_all"].as_bool().unwrap(),
            "fetch_all {c}"
        );
        let announce = if payable == 0 {
            0
        } else {
            (u(c, "burn") - u(c, "burned_unheld")).min(payable)
        };
        assert_eq!(announce, u(c, "announce"), "announce {c}");
        assert_eq!(
            sluice::__internal::credits::mint_held_back(debt, backlog, owed),
            c["mint_blocked"].as_bool().unwrap(),
            "mint_blocked {c}"
        );
    }
    for c in arr(&doc, "names") {
        let q = c["queue"].as_str().unwrap();
        let n = c["credits"].as_u64().unwrap() as u32;
        assert!(names::valid_queue(q));
        assert_eq!(names::credit_subject(q, n), c["subject"]);
        assert_eq!(names::token_credits(&names::credit_subject(q, n)), Some(n));
        assert_eq!(names::credit_consumer(q), c["consumer"]);
        assert_eq!(names::work_stream(q), c["work_stream"]);
        assert_eq!(names::work_subject(q), c["work_subject"]);
        assert_eq!(names::dlq_subject(q), c["dlq_subject"]);
    }
}

/// The token id pattern of §5.4 checked by hand (no regex dependency).
fn token_id_valid(id: &str) -> bool {
    let parts: Vec<&str> = id.rsplitn(3, '.').collect();
    if parts.len() != 3 {
        return false;
    }
    let (counter, nonce, minter) = (parts[0], parts[1], parts[2]);
    let id_ok = !minter.is_empty()
        && minter.len() <= 64
        && minter
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
    let nonce_ok = (8..=32).contains(&nonce.len())
        && nonce
            .chars()
            .all(|ch| ch.is_ascii_digit() || ('a'..='f').contains(&ch));
    let counter_ok = !counter.is_empty()
        && !counter.starts_with('0')
        && counter.chars().all(|ch| ch.is_ascii_digit());
    id_ok && nonce_ok && counter_ok
}

#[test]
fn headers_vectors() {
    let doc = load("headers.json");
    let supported = doc["supported_protocol"].as_u64().unwrap() as u32;
    for c in arr(&doc, "cases") {
        let h = header_map(&c["headers"]);
        let got = match validate(|n| h.get(n).map(String::as_str), supported) {
            Validation::Invalid { reason, header } => {
                json!({"valid": false, "reason": reason, "header": header})
            }
            Validation::Valid(v) => {
                let mut m = json!({"valid": true, "protocol": v.protocol, "type": v.type_name,
                                   "version": v.version, "trace_valid": v.trace_valid});
                if let Some(r) = v.not_handled_reason {
                    m["not_handled_reason"] = json!(r);
                }
                m
            }
        };
        assert_eq!(got, c["expect"], "headers case {}", c["name"]);
    }
    // [v1.2] repeated headers: the first value is used.
    assert!(!arr(&doc, "repeated").is_empty());
    for c in arr(&doc, "repeated") {
        let pairs: Vec<(String, String)> = arr(c, "headers")
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_string(),
                    p[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        // As the worker reads them: async-nats's HeaderMap, whose get gives the first value.
        let map = sluice::__internal::jsutil::header_map(&pairs);
        let first = |n: &str| map.get(n).map(|v| v.as_str());
        let got = match validate(first, supported) {
            Validation::Invalid { reason, header } => {
                json!({"valid": false, "reason": reason, "header": header})
            }
            Validation::Valid(v) => {
                let mut m = json!({"valid": true, "protocol": v.protocol, "type": v.type_name,
                                   "version": v.version, "trace_valid": v.trace_valid});
                if let Some(r) = v.not_handled_reason {
                    m["not_handled_reason"] = json!(r);
                }
                m
            }
        };
        assert_eq!(got, c["expect"], "repeated case {}", c["name"]);
    }
    // [v1.2] §2.2: the header block and the payload count together.
    assert!(!arr(&doc, "message_size").is_empty());
    for c in arr(&doc, "message_size") {
        let size = header_size(&header_list(&c["headers"]));
        assert_eq!(size, u(c, "header_size"), "{}", c["name"]);
        let fits = sluice::__internal::size::check(
            &header_list(&c["headers"]),
            u(c, "payload_length"),
            "SLUICE_Q_v",
            u(c, "max_msg_size") as i64,
            1 << 20,
        )
        .is_ok();
        assert_eq!(fits, c["fits"].as_bool().unwrap(), "{}", c["name"]);
    }
}

#[test]
fn outcomes_vectors() {
    let doc = load("outcomes.json");
    for c in arr(&doc, "cases") {
        let s = &c["settings"];
        let b = &s["backoff"];
        let settings = Settings {
            max_attempts: s["max_attempts"].as_u64().unwrap(),
            max_deliveries: s["max_deliveries"].as_u64().unwrap(),
            grace_ms: s["grace_ms"].as_u64().unwrap(),
            grace_delay_ms: s["grace_delay_ms"].as_u64().unwrap(),
            max_payload_bytes: s["max_payload_bytes"].as_u64().unwrap() as usize,
            backoff: Backoff {
                initial_ms: b["initial_ms"].as_f64().unwrap(),
                multiplier: b["multiplier"].as_f64().unwrap(),
                max_delay_ms: b["max_delay_ms"].as_f64().unwrap(),
                jitter: b["jitter"].as_f64().unwrap(),
            },
            supported_protocol: 1,
        };
        let handled: Vec<HandledType> = arr(c, "handled")
            .iter()
            .map(|h| HandledType {
                type_name: h["type"].as_str().unwrap().into(),
                min_version: h["min_version"].as_u64().unwrap() as u32,
                max_version: h["max_version"].as_u64().unwrap() as u32,
            })
            .collect();
        let h = header_map(&c["headers"]);
        let k = c["delivery_count"].as_u64().unwrap();
        let processed_before = c["processed_before"].as_bool().unwrap();
        let pre = precheck(
            &settings,
            &handled,
            |n| h.get(n).map(String::as_str),
            Delivery {
                payload_len: c["payload_size"].as_u64().unwrap() as usize,
                delivery_count: k,
                age_ms: c["age_ms"].as_i64().unwrap(),
            },
            |_| processed_before,
            // Both absent = false.
            &(
                c["fleet_handles"].as_bool().unwrap_or(false),
                c["fleet_declines"].as_bool().unwrap_or(false),
            ),
        );
        let got = match pre {
            Precheck::DeadLetter { reason, error } => {
                let mut m = json!({"outcome": "dlq", "reason": reason, "handler_runs": false});
                if c["expect"].get("error").is_some() {
                    m["error"] = json!(error);
                }
                m
            }
            Precheck::Duplicate => {
                json!({"outcome": "ack", "handler_runs": false, "duplicate": true})
            }
            Precheck::NakNotHandled { delay_ms, .. } => {
                json!({"outcome": "nak", "delay_ms": delay_ms, "handler_runs": false})
            }
            Precheck::Proceed(_) => {
                if c["decodes"] == false {
                    json!({"outcome": "dlq", "reason": "decode-error", "handler_runs": false})
                } else {
                    let result = match c["handler_result"].as_str().unwrap() {
                        "success" => HandlerResult::Success,
                        "reject" => HandlerResult::Reject("rejected".into()),
                        "fail" => HandlerResult::Fail("failed".into()),
                        other => panic!("unknown handler_result {other}"),
                    };
                    match after_handler(&settings, k, &result) {
                        Final::Ack => json!({"outcome": "ack", "handler_runs": true}),
                        Final::DeadLetter { reason, .. } => {
                            json!({"outcome": "dlq", "reason": reason, "handler_runs": true})
                        }
                        Final::NakRetry => {
                            let (lo, hi) = settings.backoff.bounds_ms(k);
                            for _ in 0..50 {
                                let d = settings.backoff.delay(k).as_secs_f64() * 1000.0;
                                assert!(d >= lo - 1e-6 && d <= hi + 1e-6);
                            }
                            json!({"outcome": "nak", "handler_runs": true, "delay_min_ms": lo, "delay_max_ms": hi})
                        }
                    }
                }
            }
        };
        assert_eq!(
            normalize(&got),
            normalize(&c["expect"]),
            "outcome case {}",
            c["name"]
        );
    }
}

/// Numbers compared as f64, so `5000` and `5000.0` agree.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

#[test]
fn idempotency_vectors() {
    let doc = load("idempotency.json");
    let q = doc["queue"].as_str().unwrap();
    for c in arr(&doc, "cases") {
        let id = c["msg_id"].as_str().unwrap();
        assert_eq!(id_key(id), c["id_key"].as_str().unwrap(), "id_key of {id}");
        assert_eq!(
            store_key(q, id),
            c["store_key"].as_str().unwrap(),
            "store_key of {id}"
        );
    }
}

#[test]
fn dlq_vectors() {
    let doc = load("dlq.json");
    let reasons: Vec<&str> = arr(&doc, "reasons")
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(reasons, REASONS.to_vec());
    assert_eq!(
        doc["error_max_chars"].as_u64().unwrap() as usize,
        ERROR_MAX_CHARS
    );
    for r in arr(&doc, "records") {
        let q = r["queue"].as_str().unwrap();
        assert_eq!(names::dlq_subject(q), r["record_subject"]);
        assert_eq!(names::work_stream(q), r["stream"]);
        let info = RecordInfo {
            stream: r["stream"].as_str().unwrap(),
            stream_seq: r["stream_seq"].as_u64().unwrap(),
            subject: r["subject"].as_str().unwrap(),
            delivery_count: r["delivery_count"].as_u64().unwrap(),
            worker_id: r["worker_id"].as_str().unwrap(),
            at_unix_ms: r["at_unix_ms"].as_i64().unwrap(),
            reason: r["reason"].as_str().unwrap(),
            error: r["error"].as_str().unwrap(),
        };
        let got: BTreeMap<String, String> =
            record_headers(&header_list(&r["original_headers"]), &info)
                .into_iter()
                .collect();
        assert_eq!(
            got,
            header_map(&r["record_headers"]),
            "record {}",
            r["name"]
        );
    }
    // The error text is capped.
    let long = "e".repeat(5000);
    let info = RecordInfo {
        stream: "S",
        stream_seq: 1,
        subject: "s",
        delivery_count: 1,
        worker_id: "w",
        at_unix_ms: 0,
        reason: "rejected",
        error: &long,
    };
    let h = record_headers(&[], &info);
    let e = &h.iter().find(|(k, _)| k == "Sluice-Dlq-Error").unwrap().1;
    assert_eq!(e.chars().count(), ERROR_MAX_CHARS);
    assert!(!h.iter().any(|(k, _)| k == "Sluice-Dlq-Msg-Id"));
    for r in arr(&doc, "replays") {
        let got: BTreeMap<String, String> = replay_headers(
            &header_list(&r["record_headers"]),
            r["dlq_stream_seq"].as_u64().unwrap(),
        )
        .into_iter()
        .collect();
        assert_eq!(
            got,
            header_map(&r["replay_headers"]),
            "replay {}",
            r["name"]
        );
    }
}

fn fill(pattern: &str, n: usize) -> String {
    pattern.repeat(n / pattern.len() + 1)[..n].to_string()
}

fn sha_hex(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// §8.4: which headers are dropped, in which order, where the payload is cut, with which digest.
#[test]
fn dlq_reduced_vectors() {
    let doc = load("dlq_reduced.json");
    assert_eq!(doc["header_limit"].as_u64().unwrap(), HEADER_LIMIT);
    assert_eq!(
        doc["dropped_list_max_chars"].as_u64().unwrap() as usize,
        DROPPED_LIST_MAX_CHARS
    );
    let cases = arr(&doc, "cases");
    assert!(cases.len() >= 8);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let mut rec = header_list(&c["record_headers"]);
        for (k, f) in c["record_header_fills"].as_object().unwrap() {
            rec.push((
                k.clone(),
                fill(
                    f["pattern"].as_str().unwrap(),
                    f["length"].as_u64().unwrap() as usize,
                ),
            ));
        }
        let payload = fill(
            c["payload_pattern"].as_str().unwrap(),
            c["payload_length"].as_u64().unwrap() as usize,
        )
        .into_bytes();
        assert_eq!(
            header_size(&rec),
            c["header_size"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(sha_hex(&payload), c["payload_sha256"], "{name}");
        let r = reduce_record(&rec, &payload, c["max_payload"].as_u64().unwrap()).unwrap();
        let dropped: Vec<&str> = arr(c, "dropped_headers")
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert_eq!(r.dropped, dropped, "{name}");
        let mut names: Vec<String> = r.headers.iter().map(|(k, _)| k.clone()).collect();
        names.sort();
        let want: Vec<String> = arr(c, "published_header_names")
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, want, "{name}");
        let got: BTreeMap<String, String> = r.headers.iter().cloned().collect();
        for (k, v) in header_map(&c["published_headers"]) {
            assert_eq!(got.get(&k), Some(&v), "{name}: {k}");
        }
        assert_eq!(
            header_size(&r.headers),
            c["published_header_size"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            r.payload.len() as u64,
            c["published_payload_length"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(sha_hex(&r.payload), c["published_payload_sha256"], "{name}");
    }
}

// ------------------------------------------------------------------ protobuf

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A JSON object with the proto3 default values left out, as the vectors write `fields`.
#[derive(Default)]
struct Fields(Map<String, Value>);
impl Fields {
    fn put(&mut self, k: &str, v: Value) -> &mut Self {
        let default = match &v {
            Value::String(s) => s.is_empty(),
            Value::Number(n) => n.as_f64() == Some(0.0),
            Value::Array(a) => a.is_empty(),
            Value::Bool(b) => !b,
            Value::Null => true,
            Value::Object(_) => false,
        };
        if !default {
            self.0.insert(k.to_string(), v);
        }
        self
    }
    fn done(&mut self) -> Value {
        Value::Object(std::mem::take(&mut self.0))
    }
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}
fn u(v: &Value, k: &str) -> u64 {
    v.get(k)
        .map(|x| x.as_u64().unwrap_or_else(|| panic!("{k} not u64")))
        .unwrap_or(0)
}
fn i(v: &Value, k: &str) -> i64 {
    v.get(k)
        .map(|x| x.as_i64().unwrap_or_else(|| panic!("{k} not i64")))
        .unwrap_or(0)
}
fn f(v: &Value, k: &str) -> f64 {
    v.get(k).map(|x| x.as_f64().unwrap()).unwrap_or(0.0)
}
fn enum_value(v: &Value, k: &str, from_name: fn(&str) -> Option<i32>) -> i32 {
    v.get(k)
        .map(|x| from_name(x.as_str().unwrap()).unwrap_or_else(|| panic!("unknown enum {x}")))
        .unwrap_or(0)
}

fn ledger_from(v: &Value) -> proto::Ledger {
    proto::Ledger {
        window: u(v, "window"),
        backlog: u(v, "backlog"),
        tokens: u(v, "tokens"),
        held_spent: u(v, "held_spent"),
        owed: u(v, "owed"),
        deficit: i(v, "deficit"),
        live_workers: u(v, "live_workers") as u32,
        live_producers: u(v, "live_producers") as u32,
        minted: u(v, "minted"),
        burned: u(v, "burned"),
        audit_unix_ms: i(v, "audit_unix_ms"),
        debt: u(v, "debt"),
        debt_announced: u(v, "debt_announced"),
        rate_per_second: v
            .get("rate_per_second")
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
        capacity_window: u(v, "capacity_window"),
        unlimited_workers: u(v, "unlimited_workers") as u32,
    }
}
fn ledger_to(m: &proto::Ledger) -> Value {
    Fields::default()
        .put("window", json!(m.window))
        .put("backlog", json!(m.backlog))
        .put("tokens", json!(m.tokens))
        .put("held_spent", json!(m.held_spent))
        .put("owed", json!(m.owed))
        .put("deficit", json!(m.deficit))
        .put("live_workers", json!(m.live_workers))
        .put("live_producers", json!(m.live_producers))
        .put("minted", json!(m.minted))
        .put("burned", json!(m.burned))
        .put("audit_unix_ms", json!(m.audit_unix_ms))
        .put("debt", json!(m.debt))
        .put("debt_announced", json!(m.debt_announced))
        .put("rate_per_second", json!(m.rate_per_second))
        .put("capacity_window", json!(m.capacity_window))
        .put("unlimited_workers", json!(m.unlimited_workers))
        .done()
}

/// Encodes `fields` as the named message.
fn encode_fields(message: &str, v: &Value) -> Vec<u8> {
    match message {
        "sluice.v1.CreditToken" => proto::CreditToken {
            credits: u(v, "credits") as u32,
            minted_by: s(v, "minted_by"),
            minted_unix_ms: i(v, "minted_unix_ms"),
            reason: enum_value(v, "reason", |n| {
                proto::MintReason::from_str_name(n).map(|e| e as i32)
            }),
        }
        .encode_to_vec(),
        "sluice.v1.CapacityAdvert" => proto::CapacityAdvert {
            worker_id: s(v, "worker_id"),
            queue: s(v, "queue"),
            protocol_version: u(v, "protocol_version") as u32,
            capacity: u(v, "capacity") as u32,
            in_flight: u(v, "in_flight") as u32,
            service_rate: f(v, "service_rate"),
            handled: v
                .get("handled")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|h| proto::HandledType {
                            r#type: s(h, "type"),
                            min_version: u(h, "min_version") as u32,
                            max_version: u(h, "max_version") as u32,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            heartbeat_unix_ms: i(v, "heartbeat_unix_ms"),
            ttl_ms: u(v, "ttl_ms") as u32,
            state: enum_value(v, "state", |n| {
                proto::WorkerState::from_str_name(n).map(|e| e as i32)
            }),
            owed_credits: u(v, "owed_credits") as u32,
            language: s(v, "language"),
            completed_total: u(v, "completed_total"),
            minted_total: u(v, "minted_total"),
            token_batch: u(v, "token_batch") as u32,
            debt: u(v, "debt"),
            debt_seen: i(v, "debt_seen"),
            absorbs_debt: v
                .get("absorbs_debt")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            problem: s(v, "problem"),
            rate_limited: v
                .get("rate_limited")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            rate_share: v.get("rate_share").and_then(Value::as_f64).unwrap_or(0.0),
            // [v1.3] §15.1
            nominal_capacity: u(v, "nominal_capacity") as u32,
            pushbacks_total: u(v, "pushbacks_total"),
            pushback_decreases_total: u(v, "pushback_decreases_total"),
            lowered_since_unix_ms: i(v, "lowered_since_unix_ms"),
        }
        .encode_to_vec(),
        "sluice.v1.ProducerReport" => proto::ProducerReport {
            producer_id: s(v, "producer_id"),
            queue: s(v, "queue"),
            held_spent: u(v, "held_spent") as u32,
            held_unspent: u(v, "held_unspent") as u32,
            waiting: u(v, "waiting") as u32,
            heartbeat_unix_ms: i(v, "heartbeat_unix_ms"),
            ttl_ms: u(v, "ttl_ms") as u32,
            language: s(v, "language"),
            sent_total: u(v, "sent_total"),
            fairness_keys: Vec::new(),
        }
        .encode_to_vec(),
        "sluice.v1.ReconcilerLease" => proto::ReconcilerLease {
            holder: s(v, "holder"),
            expires_unix_ms: i(v, "expires_unix_ms"),
            last: v.get("last").map(ledger_from),
            previous_deficit: i(v, "previous_deficit"),
            debt_id: i(v, "debt_id"),
            debts: v
                .get("debts")
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .map(|(k, x)| (k.clone(), x.as_u64().unwrap()))
                        .collect()
                })
                .unwrap_or_default(),
        }
        .encode_to_vec(),
        "sluice.v1.QueueSettings" => proto::QueueSettings {
            queue: s(v, "queue"),
            standing_buffer: u(v, "standing_buffer") as u32,
            token_batch: u(v, "token_batch") as u32,
            max_worker_capacity: u(v, "max_worker_capacity") as u32,
            max_window: u(v, "max_window") as u32,
            fairness_weights: Default::default(),
            rate_per_second: v
                .get("rate_per_second")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
            rate_burst: u(v, "rate_burst") as u32,
        }
        .encode_to_vec(),
        "sluice.v1.Ledger" => ledger_from(v).encode_to_vec(),
        other => panic!("no encoder for {other}"),
    }
}

/// Decodes the named message to `fields` form.
fn decode_fields(message: &str, b: &[u8]) -> Value {
    match message {
        "sluice.v1.CreditToken" => {
            let m = proto::CreditToken::decode(b).unwrap();
            Fields::default()
                .put("credits", json!(m.credits))
                .put("minted_by", json!(m.minted_by))
                .put("minted_unix_ms", json!(m.minted_unix_ms))
                .put(
                    "reason",
                    if m.reason == 0 {
                        Value::Null
                    } else {
                        json!(m.reason().as_str_name())
                    },
                )
                .done()
        }
        "sluice.v1.CapacityAdvert" => {
            let m = proto::CapacityAdvert::decode(b).unwrap();
            let handled: Vec<Value> = m
                .handled
                .iter()
                .map(|h| {
                    Fields::default()
                        .put("type", json!(h.r#type))
                        .put("min_version", json!(h.min_version))
                        .put("max_version", json!(h.max_version))
                        .done()
                })
                .collect();
            Fields::default()
                .put("worker_id", json!(m.worker_id))
                .put("queue", json!(m.queue))
                .put("protocol_version", json!(m.protocol_version))
                .put("capacity", json!(m.capacity))
                .put("in_flight", json!(m.in_flight))
                .put("service_rate", json!(m.service_rate))
                .put("handled", Value::Array(handled))
                .put("heartbeat_unix_ms", json!(m.heartbeat_unix_ms))
                .put("ttl_ms", json!(m.ttl_ms))
                .put(
                    "state",
                    if m.state == 0 {
                        Value::Null
                    } else {
                        json!(m.state().as_str_name())
                    },
                )
                .put("owed_credits", json!(m.owed_credits))
                .put("language", json!(m.language))
                .put("completed_total", json!(m.completed_total))
                .put("minted_total", json!(m.minted_total))
                .put("token_batch", json!(m.token_batch))
                .put("debt", json!(m.debt))
                .put("debt_seen", json!(m.debt_seen))
                .put("absorbs_debt", json!(m.absorbs_debt))
                .put("problem", json!(m.problem))
                .put("rate_limited", json!(m.rate_limited))
                .put("rate_share", json!(m.rate_share))
                // [v1.3] §15.1
                .put("nominal_capacity", json!(m.nominal_capacity))
                .put("pushbacks_total", json!(m.pushbacks_total))
                .put(
                    "pushback_decreases_total",
                    json!(m.pushback_decreases_total),
                )
                .put("lowered_since_unix_ms", json!(m.lowered_since_unix_ms))
                .done()
        }
        "sluice.v1.ProducerReport" => {
            let m = proto::ProducerReport::decode(b).unwrap();
            Fields::default()
                .put("producer_id", json!(m.producer_id))
                .put("queue", json!(m.queue))
                .put("held_spent", json!(m.held_spent))
                .put("held_unspent", json!(m.held_unspent))
                .put("waiting", json!(m.waiting))
                .put("heartbeat_unix_ms", json!(m.heartbeat_unix_ms))
                .put("ttl_ms", json!(m.ttl_ms))
                .put("language", json!(m.language))
                .put("sent_total", json!(m.sent_total))
                .done()
        }
        "sluice.v1.ReconcilerLease" => {
            let m = proto::ReconcilerLease::decode(b).unwrap();
            let mut out = Fields::default();
            out.put("holder", json!(m.holder))
                .put("expires_unix_ms", json!(m.expires_unix_ms));
            if let Some(l) = &m.last {
                out.0.insert("last".into(), ledger_to(l));
            }
            out.put("previous_deficit", json!(m.previous_deficit))
                .put("debt_id", json!(m.debt_id));
            if !m.debts.is_empty() {
                let debts: Map<String, Value> =
                    m.debts.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                out.0.insert("debts".into(), Value::Object(debts));
            }
            out.done()
        }
        "sluice.v1.QueueSettings" => {
            let m = proto::QueueSettings::decode(b).unwrap();
            Fields::default()
                .put("queue", json!(m.queue))
                .put("standing_buffer", json!(m.standing_buffer))
                .put("token_batch", json!(m.token_batch))
                .put("max_worker_capacity", json!(m.max_worker_capacity))
                .put("max_window", json!(m.max_window))
                .put("rate_per_second", json!(m.rate_per_second))
                .put("rate_burst", json!(m.rate_burst))
                .done()
        }
        "sluice.v1.Ledger" => ledger_to(&proto::Ledger::decode(b).unwrap()),
        other => panic!("no decoder for {other}"),
    }
}

#[test]
fn protobuf_vectors() {
    let doc = load("protobuf.json");
    let cases = arr(&doc, "cases");
    assert!(!cases.is_empty());
    for c in cases {
        let message = c["message"].as_str().unwrap();
        let hex = c["hex"].as_str().unwrap();
        let fields = &c["fields"];
        assert_eq!(
            hex_encode(&encode_fields(message, fields)),
            hex,
            "encode {message} {fields}"
        );
        assert_eq!(
            decode_fields(message, &hex_decode(hex)),
            *fields,
            "decode {message} {hex}"
        );
    }
}

/// Unknown fields are ignored (§4.1): a CreditToken with an extra field 99 still decodes.
#[test]
fn protobuf_ignores_unknown_fields() {
    let mut b = hex_decode("0801");
    b.extend_from_slice(&[0x98, 0x06, 0x05]); // field 99, varint 5
    let m = proto::CreditToken::decode(b.as_slice()).unwrap();
    assert_eq!(m.credits, 1);
}

/// headers.json `fairness_key` and credits.json `fairness` (§15.3): key format and grant order.
#[test]
fn fairness_vectors() {
    use sluice::__internal::fairness::{valid_key, FairQueue};
    let doc = load("headers.json");
    let keys = arr(&doc, "fairness_key");
    assert!(keys.len() >= 5);
    for c in keys {
        assert_eq!(
            valid_key(c["key"].as_str().unwrap()),
            c["valid"].as_bool().unwrap(),
            "{}",
            c["name"]
        );
    }
    let doc = load("credits.json");
    let cases = arr(&doc, "fairness");
    assert!(cases.len() >= 3);
    for c in cases {
        let weights: BTreeMap<String, u32> = c["weights"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap() as u32))
            .collect();
        let mut q = FairQueue::new(move |k: &str| weights.get(k).copied().unwrap_or(1));
        for k in arr(c, "arrivals") {
            let k = k.as_str().unwrap();
            q.add(k, k.to_string());
        }
        let mut got: Vec<String> = Vec::new();
        for _ in 0..c["grants"].as_u64().unwrap() {
            match q.poll() {
                Some((key, w)) => {
                    assert_eq!(key, w);
                    got.push(w);
                }
                None => break,
            }
        }
        let want: Vec<String> = arr(c, "order")
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "{}", c["name"]);
    }
}

/// The `rate_limit` section of credits.json (PROTOCOL.md §15.2 [v1.3]).
#[test]
fn rate_limit_vectors() {
    use sluice::__internal::ratelimit;
    let doc = load("credits.json");
    let v = &doc["rate_limit"];
    for c in arr(v, "share") {
        let own = c["own_capacity"].as_u64().unwrap();
        let total = own
            + arr(c, "other_capacities")
                .iter()
                .map(|x| x.as_u64().unwrap())
                .sum::<u64>();
        let want = c["share"].as_f64().unwrap();
        let got = ratelimit::share(c["rate"].as_f64().unwrap(), own, total);
        assert!(
            (got - want).abs() <= want.abs() * 1e-9 + 1e-12,
            "share {c}: {got}"
        );
    }
    for c in arr(v, "window") {
        let rate = c["rate"].as_f64().unwrap();
        let n = c["live_workers"].as_u64().unwrap();
        if ratelimit::limited(rate) {
            assert_eq!(
                ratelimit::pacing(rate, n),
                c["pacing"].as_u64().unwrap(),
                "pacing {c}"
            );
        }
        assert_eq!(
            ratelimit::window(
                c["window"].as_u64().unwrap(),
                rate,
                c["burst"].as_u64().unwrap(),
                n
            ),
            c["rate_window"].as_u64().unwrap(),
            "window {c}"
        );
    }
    for c in arr(v, "bucket") {
        let mut b = ratelimit::RateBucket::default();
        b.configure(1000.0, c["share"].as_f64().unwrap(), 0);
        for s in arr(c, "steps") {
            let at = s["at_ms"].as_u64().unwrap() * 1_000_000;
            assert_eq!(
                b.allow(
                    s["wanted"].as_u64().unwrap(),
                    s["owed"].as_u64().unwrap(),
                    at
                ),
                s["allowed"].as_u64().unwrap(),
                "{} at {}",
                c["name"],
                s["at_ms"]
            );
        }
    }
}
