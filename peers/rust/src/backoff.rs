//! Retry backoff (§7.3).

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub initial_ms: f64,
    pub multiplier: f64,
    pub max_delay_ms: f64,
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial_ms: 1000.0,
            multiplier: 2.0,
            max_delay_ms: 60000.0,
            jitter: 0.2,
        }
    }
}

impl Backoff {
    /// `d(k) = min(max_delay, initial × multiplier^(k−1))` for the attempt `k ≥ 1` that failed.
    pub fn base_ms(&self, attempt: u64) -> f64 {
        let k = attempt.max(1);
        let exp = (k - 1).min(i32::MAX as u64) as i32;
        let d = self.initial_ms * self.multiplier.powi(exp);
        if d.is_nan() {
            self.max_delay_ms
        } else {
            d.min(self.max_delay_ms)
        }
    }

    /// `clamp(d(k) × (1 + jitter × (2u − 1)), 0, max_delay)` for `u` in `[0, 1)`.
    pub fn delay_ms_at(&self, attempt: u64, u: f64) -> f64 {
        let d = self.base_ms(attempt) * (1.0 + self.jitter * (2.0 * u - 1.0));
        d.max(0.0).min(self.max_delay_ms)
    }

    /// Inclusive bounds of the delay for attempt `k`.
    pub fn bounds_ms(&self, attempt: u64) -> (f64, f64) {
        let d = self.base_ms(attempt);
        (
            (d * (1.0 - self.jitter)).max(0.0),
            (d * (1.0 + self.jitter)).min(self.max_delay_ms),
        )
    }

    /// A delay with a uniformly random `u`, as the NAK sends it (§7.3).
    pub fn delay(&self, attempt: u64) -> Duration {
        let u: f64 = rand::random::<f64>();
        nak_delay(self.delay_ms_at(attempt, u))
    }
}

/// The delay a NAK carries for `ms` milliseconds (§7.3 [v1.2]): `floor(ms × 10^6)` nanoseconds,
/// never negative.
pub fn nak_delay(ms: f64) -> Duration {
    Duration::from_nanos((ms.max(0.0) * 1e6) as u64)
}
