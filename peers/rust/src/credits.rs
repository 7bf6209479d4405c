//! Credits (§5): decomposition, the window and the reconciler's decision.

/// `floor(c / b)` tokens of `b`, then the binary decomposition of `c mod b`, largest first.
/// `b` must be a power of two.
pub fn decompose(credits: u64, batch: u32) -> Vec<u32> {
    assert!(
        batch.is_power_of_two(),
        "token batch must be a power of two"
    );
    let b = batch as u64;
    let mut out = vec![batch; (credits / b) as usize];
    let mut rest = credits % b;
    let mut p = b;
    while rest > 0 {
        while p > rest {
            p /= 2;
        }
        out.push(p as u32);
        rest -= p;
    }
    out
}

/// The worker state values of `CapacityAdvert.state` that count toward the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvertView {
    pub capacity: u32,
    pub running: bool,
    pub heartbeat_unix_ms: i64,
    pub ttl_ms: u32,
}

impl AdvertView {
    pub fn from_proto(a: &crate::proto::CapacityAdvert) -> Self {
        AdvertView {
            capacity: a.capacity,
            running: a.state == crate::proto::WorkerState::Running as i32,
            heartbeat_unix_ms: a.heartbeat_unix_ms,
            ttl_ms: a.ttl_ms,
        }
    }
    /// Live while `heartbeat_unix_ms + ttl_ms ≥ now`.
    pub fn live(&self, now_unix_ms: i64) -> bool {
        self.heartbeat_unix_ms + self.ttl_ms as i64 >= now_unix_ms
    }
}

/// Default advert bounds (§5.1 [v1.1]), used when `QueueSettings` leaves a bound at 0.
pub const DEFAULT_MAX_WORKER_CAPACITY: u32 = 10_000;
pub const DEFAULT_MAX_WINDOW: u32 = 10_000;

/// A queue's advert bounds (§5.1 [v1.1]); a zero field means its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bounds {
    pub max_worker_capacity: u32,
    pub max_window: u32,
}

impl Bounds {
    pub fn from_settings(s: &crate::proto::QueueSettings) -> Self {
        Bounds {
            max_worker_capacity: s.max_worker_capacity,
            max_window: s.max_window,
        }
    }
}

/// `W = max(standing_buffer, min(max_window, Σ min(capacity, max_worker_capacity)))` over live
/// RUNNING adverts (§5.1).
pub fn window(
    standing_buffer: u32,
    bounds: Bounds,
    adverts: &[AdvertView],
    now_unix_ms: i64,
) -> u64 {
    let per_worker = match bounds.max_worker_capacity {
        0 => DEFAULT_MAX_WORKER_CAPACITY,
        n => n,
    } as u64;
    let most = match bounds.max_window {
        0 => DEFAULT_MAX_WINDOW,
        n => n,
    } as u64;
    let live: u64 = adverts
        .iter()
        .filter(|a| a.live(now_unix_ms) && a.running)
        .map(|a| (a.capacity as u64).min(per_worker))
        .sum();
    live.min(most).max(standing_buffer as u64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileAction {
    None,
    Mint(u64),
    Burn(u64),
}

/// `d = W − (B + T − S + O)` and the action two agreeing audits call for (§5.5).
pub fn reconcile(
    window: u64,
    backlog: u64,
    tokens: u64,
    held_spent: u64,
    owed: u64,
    previous_deficit: i64,
) -> (i64, ReconcileAction) {
    let d = window as i64 - (backlog as i64 + tokens as i64 - held_spent as i64 + owed as i64);
    let action = if d > 0 && previous_deficit > 0 {
        ReconcileAction::Mint(d.min(previous_deficit) as u64)
    } else if d < 0 && previous_deficit < 0 {
        ReconcileAction::Burn((-d).min(-previous_deficit) as u64)
    } else {
        ReconcileAction::None
    };
    (d, action)
}

/// The credits a worker withholds from its replenishment to burn a surplus the reconciler
/// announced (§5.5 fast burn [v1.1]).
#[derive(Debug, Default)]
pub struct Debt {
    read_one: bool,
    seen: i64,
    pending: u64,
    withheld: u64,
}

impl Debt {
    /// Takes `worker_id`'s share of an announcement it has not taken yet. The first lease read
    /// only sets where the worker starts: an earlier announcement was made to an earlier process
    /// with the same id, or to none.
    pub fn offer(&mut self, lease: &crate::proto::ReconcilerLease, worker_id: &str) {
        if !self.read_one {
            self.read_one = true;
            self.seen = lease.debt_id;
            return;
        }
        if lease.debt_id > self.seen {
            self.pending += lease.debts.get(worker_id).copied().unwrap_or(0);
            self.seen = lease.debt_id;
        }
    }

    /// How many of `n` credits about to be minted to withhold (burn) instead.
    pub fn withhold(&mut self, n: u64) -> u64 {
        let k = n.min(self.pending);
        self.pending -= k;
        self.withheld += k;
        k
    }

    /// Credits still to withhold, and the newest announcement id read.
    pub fn state(&self) -> (u64, i64) {
        (self.pending, self.seen)
    }
}

/// What a confirmed surplus burns after the tolerance (§5.5): one token per live producer
/// ([v1.2]; `batch` is the queue's token batch b, never a worker's b') plus what the producers hold
/// and have not reported spent, `held_tokens × b − S` ([v1.3]: a report lags its producer's
/// spending by the rate times the report's round trip, which passes a token at high rates). The
/// second term counts only while some producer is live: a crashed producer's token stays held
/// until it is redelivered, and with no live producer its duplicated credits burn as in §5.6.
pub fn burn_amount(
    surplus: u64,
    live_producers: u64,
    batch: u64,
    held_tokens: u64,
    held_spent: u64,
) -> u64 {
    let unreported = if live_producers > 0 {
        (held_tokens * batch).saturating_sub(held_spent)
    } else {
        0
    };
    surplus.saturating_sub(live_producers * batch + unreported)
}

/// How much of a confirmed surplus may be announced as a debt (§5.5 [v1.3]):
/// `max(0, B + O − Σ debt)`. A worker pays a debt only by withholding the credits of messages it
/// finishes, so no more is announced than is left to finish; 0 (an idle queue) means the
/// reconciler fetches the surplus from the stream instead, without a time budget.
pub fn debt_payable(backlog: u64, owed: u64, debt: u64) -> u64 {
    (backlog + owed).saturating_sub(debt)
}

/// Whether a pending debt holds back a mint (§5.5 [v1.3]): while something is left to finish
/// (`B + O > 0`) a debt being absorbed reads as a small deficit when adverts lag; with nothing
/// left to finish a deficit is real and is minted.
pub fn mint_held_back(debt: u64, backlog: u64, owed: u64) -> bool {
    debt > 0 && backlog + owed > 0
}

/// Whether the reconciler's view of the adverts cannot be trusted (§5.5 [v1.3]): its own
/// worker's advert is missing from it, or older than three quarters of the advert's ttl (the
/// worker rewrites it at least every ttl / 2). No correction is made from such a view.
pub fn stale_view(own_heartbeat: Option<(i64, u32)>, now_unix_ms: i64) -> bool {
    match own_heartbeat {
        None => true,
        Some((heartbeat, ttl_ms)) => now_unix_ms - heartbeat > ttl_ms as i64 * 3 / 4,
    }
}

/// The replenishment linger in whole milliseconds (§5.4 [v1.2]):
/// `floor(clamp(b' / rate × 1000, 2, 20))`, and 20 while no rate is measured.
pub fn linger_ms(batch: u32, rate: f64) -> u64 {
    let ms = if rate > 0.0 {
        batch as f64 / rate * 1000.0
    } else {
        20.0
    };
    ms.clamp(2.0, 20.0) as u64
}

/// The advertised service rate after one heartbeat (§5.2 [v1.2]): `completed` finishes in
/// `seconds`, averaged as `0.3 × instant + 0.7 × previous` (the instant rate while previous is 0).
pub fn service_rate(previous: f64, completed: u64, seconds: f64) -> f64 {
    let inst = completed as f64 / seconds;
    if previous == 0.0 {
        inst
    } else {
        0.3 * inst + 0.7 * previous
    }
}

/// A token's `Nats-Msg-Id` (§5.4 [v1.2]): `<minter id>.<instance nonce>.<counter>`, from 1.
pub fn token_id(minter_id: &str, nonce: &str, counter: u64) -> String {
    format!("{minter_id}.{nonce}.{counter}")
}

/// b' (§5.4): `min(b, the largest power of two ≤ max(1, capacity / 2))`.
pub fn effective_batch(batch: u32, capacity: u32) -> u32 {
    let half = (capacity / 2).max(1);
    let mut p = 1u32;
    while p * 2 <= half && p < 1 << 20 {
        p *= 2;
    }
    batch.min(p)
}

/// A latency-target capacity (§5.2): `concurrency + ceil(rate × wait_seconds)`, bounded by
/// `[concurrency, max_capacity]`, plus `2b'` for the credits in transit (owed, or in a token on
/// its way to a producer: part of the window, not of the backlog).
pub fn latency_capacity(
    concurrency: u32,
    max_capacity: u32,
    rate: f64,
    wait_seconds: f64,
    batch: u32,
) -> u32 {
    let backlog = concurrency as f64 + (rate * wait_seconds).ceil();
    let bounded = backlog.min(max_capacity as f64).max(concurrency as f64);
    bounded as u32 + 2 * batch
}

#[cfg(test)]
mod latency_tests {
    use super::latency_capacity;

    #[test]
    fn latency_capacity_follows_the_rate_within_its_bounds() {
        // No rate yet: the concurrency, plus 2b'.
        assert_eq!(latency_capacity(4, 100, 0.0, 0.5, 2), 8);
        // 50/s for 0.5 s: 4 + 25, plus 4.
        assert_eq!(latency_capacity(4, 100, 50.0, 0.5, 2), 33);
        // A fraction rounds up.
        assert_eq!(latency_capacity(4, 100, 10.1, 1.0, 1), 17);
        // Bounded by max_capacity before the 2b' is added.
        assert_eq!(latency_capacity(4, 20, 1000.0, 1.0, 8), 36);
        // A max_capacity below the concurrency yields the concurrency.
        assert_eq!(latency_capacity(4, 2, 0.0, 1.0, 1), 6);
    }
}

#[cfg(test)]
mod stale_view_tests {
    use super::stale_view;

    #[test]
    fn a_missing_or_old_own_advert_is_a_stale_view() {
        assert!(stale_view(None, 10_000));
        assert!(!stale_view(Some((10_000, 6_000)), 14_500));
        assert!(stale_view(Some((10_000, 6_000)), 14_501));
    }
}

#[cfg(test)]
mod debt_tests {
    use super::Debt;
    use crate::proto::ReconcilerLease;

    fn ann(id: i64, share: u64) -> ReconcilerLease {
        ReconcilerLease {
            debt_id: id,
            debts: [("rust-w1".to_string(), share)].into_iter().collect(),
            ..Default::default()
        }
    }

    /// Each announcement is taken once, never the one found at start.
    #[test]
    fn debt_takes_each_announcement_once() {
        let mut d = Debt::default();
        d.offer(&ann(5, 100), "rust-w1");
        assert_eq!(d.state(), (0, 5));
        d.offer(&ann(9, 10), "rust-w1");
        d.offer(&ann(9, 10), "rust-w1");
        assert_eq!(d.state(), (10, 9));
        assert_eq!(d.withhold(4), 4);
        assert_eq!(d.withhold(32), 6);
        assert_eq!(d.withhold(32), 0);
    }
}
