//! `protocol/vectors/pushback.json` (PROTOCOL.md §15.1): the AIMD capacity under pushback.

use serde_json::Value;
use sluice::__internal::pushback::{Aimd, Policy};
use std::path::PathBuf;

#[test]
fn pushback_vectors() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../protocol/vectors/pushback.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for c in doc["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let p = &c["params"];
        let mut a = Aimd::new(Policy {
            decrease: p["decrease"].as_f64().unwrap(),
            floor: p["floor"].as_u64().unwrap() as u32,
            decrease_interval_ms: p["decrease_interval_ms"].as_i64().unwrap(),
            increase_interval_ms: p["increase_interval_ms"].as_i64().unwrap(),
        });
        for (i, e) in c["events"].as_array().unwrap().iter().enumerate() {
            let nominal = e
                .get("nominal")
                .and_then(Value::as_u64)
                .unwrap_or_else(|| p["nominal"].as_u64().unwrap()) as u32;
            let at = e["at_ms"].as_i64().unwrap();
            match e["event"].as_str().unwrap() {
                "pushback" => assert_eq!(
                    a.pushback(nominal, at),
                    e["decreased"].as_bool().unwrap(),
                    "{name} event {i}: decreased"
                ),
                "success" => a.succeeded(),
                "tick" => a.tick(
                    nominal,
                    at,
                    e.get("idle").and_then(Value::as_bool).unwrap_or(false),
                ),
                other => panic!("{name} event {i}: unknown event {other}"),
            }
            assert_eq!(
                a.capacity(nominal),
                e["capacity"].as_u64().unwrap() as u32,
                "{name} event {i}: capacity"
            );
            assert_eq!(
                a.lowered(),
                e["lowered"].as_bool().unwrap(),
                "{name} event {i}: lowered"
            );
        }
    }
}
