//! Fleet-wide rate limits (PROTOCOL.md §15.2 [v1.3]): each worker's share of the queue's rate,
//! its bucket, the pacing allowance and the window a rate caps. Pure: times are passed in.

use crate::proto::{CapacityAdvert, QueueSettings, WorkerState};

/// Seconds of its share a worker may mint at once after idling: its bucket depth.
pub const DEPTH_SECONDS: f64 = 0.02;
/// Seconds of the rate the window leaves for minters that run late.
pub const PACING_SECONDS: f64 = 0.05;
/// How often a worker recomputes its share while a rate is set, in milliseconds.
pub const SHARE_REFRESH_MS: u64 = 100;

/// True when `per_second` is a rate limit (a finite number above 0).
pub fn limited(per_second: f64) -> bool {
    per_second > 0.0 && per_second.is_finite()
}

/// The queue's rate limit from its settings: (0, 0) without one, or with an invalid one (a rate
/// without a burst is no rate: minting is never stopped).
pub fn rate_of(s: &QueueSettings) -> (f64, u32) {
    if limited(s.rate_per_second) && s.rate_burst >= 1 {
        (s.rate_per_second, s.rate_burst)
    } else {
        (0.0, 0)
    }
}

/// `rate × own / total`; 0 when either is 0.
pub fn share(rate: f64, own: u64, total: u64) -> f64 {
    if own == 0 || total == 0 || !limited(rate) {
        0.0
    } else {
        rate * own as f64 / total as f64
    }
}

/// This worker's share: `rate × own / Σ capacity` over the live RUNNING adverts that mint within
/// the rate, with `own_capacity` in place of its own advert (`others` excludes it).
pub fn share_of(
    rate: f64,
    own_capacity: u32,
    others: &[CapacityAdvert],
    now_unix_ms: i64,
    max_worker_capacity: u32,
) -> f64 {
    let cap = if max_worker_capacity == 0 {
        crate::credits::DEFAULT_MAX_WORKER_CAPACITY
    } else {
        max_worker_capacity
    };
    let own = own_capacity.min(cap) as u64;
    let mut total = own;
    for a in others {
        if a.heartbeat_unix_ms + a.ttl_ms as i64 >= now_unix_ms
            && a.state == WorkerState::Running as i32
            && a.rate_limited
        {
            total += a.capacity.min(cap) as u64;
        }
    }
    share(rate, own, total)
}

/// `max(1, share × 0.02)` credits.
pub fn depth(share: f64) -> f64 {
    (share * DEPTH_SECONDS).max(1.0)
}

/// `ceil(rate × 0.05) + live RUNNING workers`.
pub fn pacing(rate: f64, live_workers: u64) -> u64 {
    (rate * PACING_SECONDS).ceil() as u64 + live_workers
}

/// `min(window, max(1, burst − pacing))` while a rate is set, else `window`.
pub fn window(window: u64, rate: f64, burst: u64, live_workers: u64) -> u64 {
    if !limited(rate) {
        return window;
    }
    let p = pacing(rate, live_workers);
    window.min(burst.saturating_sub(p).max(1))
}

/// One worker's bucket: the credits it may mint at its share of the rate.
#[derive(Debug, Default)]
pub struct RateBucket {
    on: bool,
    per_second: f64,
    share: f64,
    allowance: f64,
    last_ns: u64,
    idle: bool,
}

impl RateBucket {
    /// Sets the rate in force (≤ 0: none) and this worker's share; a bucket that was off starts
    /// full to its depth.
    pub fn configure(&mut self, per_second: f64, share: f64, now_ns: u64) {
        let limit = limited(per_second);
        if limit && !self.on {
            self.allowance = depth(share);
            self.last_ns = now_ns;
            self.idle = true;
        }
        self.on = limit;
        self.per_second = if limit { per_second } else { 0.0 };
        self.share = if limit { share.max(0.0) } else { 0.0 };
    }

    /// Changes the share without touching the allowance.
    pub fn set_share(&mut self, share: f64) {
        if self.on {
            self.share = share.max(0.0);
        }
    }

    pub fn on(&self) -> bool {
        self.on
    }

    /// The rate in force (0 without one).
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// This worker's share, credits per second (0 without a rate).
    pub fn share(&self) -> f64 {
        self.share
    }

    /// How many of `wanted` of the `owed` credits the rate allows now; the rest stays owed. The
    /// bucket is capped at its depth only after a round that left nothing owed.
    pub fn allow(&mut self, wanted: u64, owed: u64, now_ns: u64) -> u64 {
        if !self.on {
            return wanted;
        }
        let d = depth(self.share);
        self.allowance += self.share * now_ns.saturating_sub(self.last_ns) as f64 / 1e9;
        self.last_ns = self.last_ns.max(now_ns);
        if self.idle {
            self.allowance = self.allowance.min(d);
        }
        let m = (wanted as f64).min(self.allowance.floor()).max(0.0) as u64;
        self.allowance -= m as f64;
        self.idle = owed <= m;
        if self.idle {
            self.allowance = self.allowance.min(d);
        }
        m
    }
}
