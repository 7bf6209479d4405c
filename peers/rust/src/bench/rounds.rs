//! The fast workload's rounds (raw, raw-id, raw-wire, raw-compact, Sluice, alternated) folded
//! into one JSON record: each pipeline's fields as medians over the rounds, the ratios and the
//! floor's differences as medians of the per-round figures (each round compares pipelines run
//! minutes apart, not across rounds).

use crate::measured::round2;
use serde_json::{json, Map, Value};

/// One round: each pipeline's JSON record, keyed by its label.
pub type Round = Vec<(&'static str, Value)>;

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return -1.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn field(r: &Round, pipeline: &str, key: &str) -> Option<f64> {
    r.iter()
        .find(|(p, _)| *p == pipeline)
        .and_then(|(_, v)| v[key].as_f64())
}

/// Field-wise medians of one pipeline's records over the rounds.
fn medians(rounds: &[Round], pipeline: &str) -> Value {
    let records: Vec<&Value> = rounds
        .iter()
        .filter_map(|r| r.iter().find(|(p, _)| *p == pipeline).map(|(_, v)| v))
        .collect();
    let mut out = Map::new();
    if let Some(Value::Object(first)) = records.first() {
        for k in first.keys() {
            let vs: Vec<f64> = records.iter().filter_map(|v| v[k].as_f64()).collect();
            out.insert(k.clone(), json!(round2(median(vs))));
        }
    }
    Value::Object(out)
}

/// The median over the rounds of `f(round)`, rounded; -1 when no round has it.
fn per_round(rounds: &[Round], f: impl Fn(&Round) -> Option<f64>) -> f64 {
    round2(median(rounds.iter().filter_map(f).collect()))
}

/// `a`'s `key` minus `b`'s, per round, as a median.
fn diff(rounds: &[Round], a: &str, b: &str, key: &str) -> f64 {
    per_round(rounds, |r| Some(field(r, a, key)? - field(r, b, key)?))
}

/// `a`'s `key` over `b`'s, per round, as a median.
fn ratio(rounds: &[Round], a: &str, b: &str, key: &str) -> f64 {
    per_round(rounds, |r| {
        let d = field(r, b, key)?;
        (d > 0.0).then(|| field(r, a, key).unwrap_or(0.0) / d)
    })
}

/// The fast workload's record: `raw` and `sluice` as before (medians), `ratio` and `cpu_ratio`
/// (Sluice over raw), the floor pipelines, and `floor` with the decomposition.
pub fn fast(rounds: &[Round]) -> Value {
    let cpu = "cpu_us_per_msg";
    let decomposition = |a: &str, b: &str| {
        json!({
            "cpu_us_per_msg": diff(rounds, a, b, cpu),
            "cpu_process_us_per_msg": diff(rounds, a, b, "cpu_process_us_per_msg"),
            "cpu_server_us_per_msg": diff(rounds, a, b, "cpu_server_us_per_msg"),
        })
    };
    json!({
        "raw": medians(rounds, "raw"),
        "sluice": medians(rounds, "sluice"),
        "ratio": ratio(rounds, "sluice", "raw", "throughput"),
        "cpu_ratio": ratio(rounds, "sluice", "raw", cpu),
        "rounds": rounds.len(),
        "raw_id": medians(rounds, "raw-id"),
        "raw_wire": medians(rounds, "raw-wire"),
        "raw_compact": medians(rounds, "raw-compact"),
        "raw_wire_paced": medians(rounds, "raw-wire-paced"),
        "floor": {
            "id_overhead": decomposition("raw-id", "raw"),
            "wire_overhead": decomposition("raw-wire", "raw"),
            "compact_saving": decomposition("raw-wire", "raw-compact"),
            "implementation_overhead": decomposition("sluice", "raw-wire"),
            "implementation_overhead_at_rate": decomposition("sluice", "raw-wire-paced"),
            "ratio_to_raw_wire": ratio(rounds, "sluice", "raw-wire", "throughput"),
            "cpu_ratio_to_raw_wire": ratio(rounds, "sluice", "raw-wire", cpu),
            "raw_wire_ratio": ratio(rounds, "raw-wire", "raw", "throughput"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_differences_are_per_round() {
        let round = |raw: f64, wire: f64| -> Round {
            vec![
                ("raw", json!({"cpu_us_per_msg": raw, "throughput": 100.0})),
                (
                    "raw-wire",
                    json!({"cpu_us_per_msg": wire, "throughput": 50.0}),
                ),
            ]
        };
        let rounds = [round(10.0, 30.0), round(20.0, 25.0), round(12.0, 40.0)];
        assert_eq!(medians(&rounds, "raw")["cpu_us_per_msg"], json!(12.0));
        // Per-round differences 20, 5, 28: median 20 (not 30 - 12).
        assert_eq!(diff(&rounds, "raw-wire", "raw", "cpu_us_per_msg"), 20.0);
        assert_eq!(ratio(&rounds, "raw-wire", "raw", "throughput"), 0.5);
        assert_eq!(median(vec![1.0, 3.0]), 2.0);
        assert_eq!(median(vec![]), -1.0);
    }
}
