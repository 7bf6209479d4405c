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

/// `W = max(standing_buffer, Σ capacity of live RUNNING adverts)` (§5.1).
pub fn window(standing_buffer: u32, adverts: &[AdvertView], now_unix_ms: i64) -> u64 {
    let live: u64 = adverts
        .iter()
        .filter(|a| a.live(now_unix_ms) && a.running)
        .map(|a| a.capacity as u64)
        .sum();
    live.max(standing_buffer as u64)
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
