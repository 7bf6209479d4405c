//! One pipeline's measured period and its JSON record.

use crate::stats::ticks_per_second;
use serde_json::{json, Value};

pub struct Measured {
    pub handled: u64,
    pub seconds: f64,
    pub cpu_self: u64,
    pub cpu_server: u64,
    pub max_backlog: u64,
    pub mean_backlog: f64,
    /// Allocations in the process over the period (`bench-alloc-count` only).
    pub allocations: Option<u64>,
    /// Context switches of the process's threads over the period.
    pub switches: u64,
    /// The server's in/out messages and bytes over the period (with `--monitor`).
    pub server: Option<[u64; 4]>,
}

impl Measured {
    pub fn json(&self, extra: Value) -> Value {
        let per = |ticks: u64| {
            if self.handled == 0 {
                -1.0
            } else {
                ticks as f64 * 1e6 / ticks_per_second() / self.handled as f64
            }
        };
        let mut v = json!({
            "throughput": (self.handled as f64 / self.seconds).round(),
            "handled": self.handled,
            "cpu_us_per_msg": round2(per(self.cpu_self + self.cpu_server)),
            "cpu_process_us_per_msg": round2(per(self.cpu_self)),
            "cpu_server_us_per_msg": round2(per(self.cpu_server)),
            "max_backlog": self.max_backlog,
            "mean_backlog": self.mean_backlog.round(),
        });
        if let Value::Object(m) = &mut v {
            let n = self.handled.max(1) as f64;
            m.insert(
                "context_switches_per_msg".into(),
                json!(round2(self.switches as f64 / n)),
            );
            if let Some([i, o, ib, ob]) = self.server {
                m.insert("server_msgs_in_per_msg".into(), json!(round2(i as f64 / n)));
                m.insert(
                    "server_msgs_out_per_msg".into(),
                    json!(round2(o as f64 / n)),
                );
                m.insert(
                    "server_bytes_in_per_msg".into(),
                    json!((ib as f64 / n).round()),
                );
                m.insert(
                    "server_bytes_out_per_msg".into(),
                    json!((ob as f64 / n).round()),
                );
            }
        }
        if let (Some(a), Value::Object(m)) = (self.allocations, &mut v) {
            let per = if self.handled == 0 {
                -1.0
            } else {
                a as f64 / self.handled as f64
            };
            m.insert("allocations_per_msg".into(), json!(round2(per)));
        }
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        v
    }
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
