//! Downstream pushback (PROTOCOL.md §15.1): the AIMD capacity limit, pure, and the counters and
//! handler gate a worker keeps with it. Times are milliseconds on any clock the caller passes in.
//! Vectors: `protocol/vectors/pushback.json`.

use std::sync::Mutex;

/// The AIMD parameters.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The factor a pushback multiplies the capacity by, in (0, 1).
    pub decrease: f64,
    /// The lowest capacity, at least 1.
    pub floor: u32,
    /// The shortest time between two decreases.
    pub decrease_interval_ms: i64,
    /// How often a lowered capacity may grow by 1.
    pub increase_interval_ms: i64,
}

impl Default for Policy {
    /// ×0.5 at most once a second, +1 a second, floor 1 (as the Java and Go workers).
    fn default() -> Self {
        Policy {
            decrease: 0.5,
            floor: 1,
            decrease_interval_ms: 1000,
            increase_interval_ms: 1000,
        }
    }
}

/// The limit: lowered multiplicatively on a pushback (at most once per decrease interval), raised
/// by 1 per increase interval in which none pushed back and handlers succeeded (or the worker had
/// nothing in hand), within [floor, nominal].
#[derive(Debug, Clone)]
pub struct Aimd {
    p: Policy,
    limit: Option<u32>,
    last_decrease: i64,
    last_increase: i64,
    lowered_since: i64,
    success_since: bool,
    pushback_since: bool,
    decreases: u64,
}

impl Aimd {
    pub fn new(p: Policy) -> Self {
        Aimd {
            p,
            limit: None,
            last_decrease: 0,
            last_increase: 0,
            lowered_since: 0,
            success_since: false,
            pushback_since: false,
            decreases: 0,
        }
    }

    /// A pushback at `now_ms`; returns whether it lowered the limit.
    pub fn pushback(&mut self, nominal: u32, now_ms: i64) -> bool {
        self.pushback_since = true;
        if self.limit.is_some() && now_ms - self.last_decrease < self.p.decrease_interval_ms {
            return false;
        }
        let current = self.limit.map_or(nominal, |l| l.min(nominal));
        let next = ((current as f64 * self.p.decrease).floor() as u32).max(self.p.floor);
        if self.limit.is_none() {
            self.lowered_since = now_ms;
        }
        self.limit = Some(next);
        self.last_decrease = now_ms;
        self.last_increase = now_ms;
        self.success_since = false;
        self.pushback_since = false;
        self.decreases += 1;
        true
    }

    /// At least one handler succeeded.
    pub fn succeeded(&mut self) {
        self.success_since = true;
    }

    /// The periodic step at `now_ms`; `idle`: nothing in hand.
    pub fn tick(&mut self, nominal: u32, now_ms: i64, idle: bool) {
        let Some(limit) = self.limit else { return };
        if limit >= nominal {
            self.limit = None;
            return;
        }
        if now_ms - self.last_increase < self.p.increase_interval_ms {
            return;
        }
        if (self.success_since || idle) && !self.pushback_since {
            self.limit = if limit + 1 >= nominal {
                None
            } else {
                Some(limit + 1)
            };
        }
        self.last_increase = now_ms;
        self.success_since = false;
        self.pushback_since = false;
    }

    /// The capacity to advertise for a configured capacity of `nominal`.
    pub fn capacity(&self, nominal: u32) -> u32 {
        self.limit.map_or(nominal, |l| l.min(nominal))
    }

    pub fn lowered(&self) -> bool {
        self.limit.is_some()
    }

    /// When the current lowered spell began; 0 when not lowered.
    pub fn lowered_since_ms(&self) -> i64 {
        if self.limit.is_some() {
            self.lowered_since
        } else {
            0
        }
    }

    pub fn decreases(&self) -> u64 {
        self.decreases
    }
}

/// A worker's pushback state: the limit, the pushback count, and the handlers running under the
/// gate. Thread-safe.
#[derive(Debug)]
pub struct Pushback {
    st: Mutex<(Aimd, u64, u32)>, // the limit, pushbacks, handlers running
    /// Whether a pushback lowers the limit; when not, the limit is never lowered and the gate
    /// never closes, but pushbacks are still counted.
    on: bool,
}

impl Pushback {
    pub fn new(p: Policy) -> Self {
        Pushback {
            st: Mutex::new((Aimd::new(p), 0, 0)),
            on: true,
        }
    }

    /// Pushback switched off: pushbacks are counted and never lower the capacity.
    pub fn off() -> Self {
        Pushback {
            on: false,
            ..Pushback::new(Policy::default())
        }
    }

    /// Whether a pushback lowers the capacity.
    pub fn on(&self) -> bool {
        self.on
    }

    /// A handler pushed back at `now_ms`.
    pub fn pushed(&self, nominal: u32, now_ms: i64) {
        let mut st = self.st.lock().unwrap();
        st.1 += 1;
        if self.on {
            st.0.pushback(nominal, now_ms);
        }
    }

    /// The periodic step (`succeeded`: a handler succeeded since the last one).
    pub fn tick(&self, nominal: u32, now_ms: i64, succeeded: bool, idle: bool) {
        let mut st = self.st.lock().unwrap();
        if succeeded {
            st.0.succeeded();
        }
        st.0.tick(nominal, now_ms, idle);
    }

    /// The lowered limit on messages in hand and handlers running, if lowered.
    pub fn limit(&self, nominal: u32) -> Option<u32> {
        let st = self.st.lock().unwrap();
        st.0.lowered().then(|| st.0.capacity(nominal))
    }

    /// Starts a handler run if fewer run than the lowered capacity (always when not lowered);
    /// false means wait and try again. Pair a true with [`Pushback::exit`].
    pub fn try_enter(&self, nominal: u32) -> bool {
        let mut st = self.st.lock().unwrap();
        if st.0.lowered() && st.2 >= st.0.capacity(nominal) {
            return false;
        }
        st.2 += 1;
        true
    }

    pub fn exit(&self) {
        self.st.lock().unwrap().2 -= 1;
    }

    /// (capacity, pushbacks, decreases, lowered since) for the advert.
    pub fn advert(&self, nominal: u32) -> (u32, u64, u64, i64) {
        let st = self.st.lock().unwrap();
        (
            st.0.capacity(nominal),
            st.1,
            st.0.decreases(),
            st.0.lowered_since_ms(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_keeps_the_queue_alive() {
        let mut a = Aimd::new(Policy::default());
        for t in 0..20 {
            a.pushback(64, 1000 + t * 1000);
        }
        assert_eq!(a.capacity(64), 1);
        assert_eq!(a.decreases(), 20);
        assert_eq!(a.lowered_since_ms(), 1000);
    }

    #[test]
    fn the_gate_admits_no_more_than_the_lowered_capacity() {
        let p = Pushback::new(Policy::default());
        assert!(p.try_enter(8) && p.try_enter(8)); // not lowered: no limit
        p.exit();
        p.exit();
        p.pushed(4, 1000); // 2
        assert!(p.try_enter(4) && p.try_enter(4));
        assert!(!p.try_enter(4));
        p.exit();
        assert!(p.try_enter(4));
        assert_eq!(p.advert(4), (2, 1, 1, 1000));
    }

    #[test]
    fn switched_off_it_counts_pushbacks_and_never_lowers() {
        let p = Pushback::off();
        for t in 0..5 {
            p.pushed(4, 1000 + t * 1000);
        }
        assert_eq!(p.limit(4), None);
        assert!((0..8).all(|_| p.try_enter(4)));
        assert_eq!(p.advert(4), (4, 5, 0, 0));
    }
}
