//! The worker's flow-control hooks (PROTOCOL.md §15): the rate its mints are paced to (§15.2)
//! and the pushback gate, hold and AIMD step (§15.1). The rules themselves are pure, in
//! `crate::ratelimit` and `crate::pushback`.

use super::Engine;
use crate::{log, names, now_unix_ms};
use async_nats::jetstream::{AckKind, Message};
use prost::Message as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Engine {
    /// §15.2: re-reads the queue's rate limit (every heartbeat) and sets it in force.
    pub(super) async fn refresh_rate(&self) {
        let Some(kv) = &self.kv_ctl else { return };
        let settings = match kv.get(names::settings_key(&self.cfg.queue)).await {
            Ok(Some(b)) => match crate::proto::QueueSettings::decode(b.as_ref()) {
                Ok(s) => s,
                Err(_) => return,
            },
            Ok(None) => crate::proto::QueueSettings::default(),
            Err(_) => return, // keep the rate in force until the settings can be read again
        };
        let (rate, _burst) = crate::ratelimit::rate_of(&settings);
        self.rate_meta.lock().unwrap().1 = settings.max_worker_capacity;
        let share = self.rate_share(rate);
        let now = self.started.elapsed().as_nanos() as u64;
        self.rate.lock().unwrap().configure(rate, share, now);
    }

    /// §15.2: this worker's share of `rate` from the adverts it follows.
    pub(super) fn rate_share(&self, rate: f64) -> f64 {
        if !crate::ratelimit::limited(rate) {
            return 0.0;
        }
        let max_cap = self.rate_meta.lock().unwrap().1;
        // A worker advertising capacity 0 (circuit open) has share 0.
        let capacity = if self.circuit_open() {
            0
        } else {
            self.pushback.advert(self.capacity()).0
        };
        crate::ratelimit::share_of(rate, capacity, &self.fleet.all(), now_unix_ms(), max_cap)
    }

    /// §15.2: how many of `due` credits the rate allows now (all of them without a rate).
    pub(super) fn paced(&self, due: u64, owed: u64) -> u64 {
        if due == 0 || !self.rate.lock().unwrap().on() {
            return due;
        }
        let refresh = {
            let mut m = self.rate_meta.lock().unwrap();
            let r = m.0.elapsed() >= Duration::from_millis(crate::ratelimit::SHARE_REFRESH_MS);
            if r {
                m.0 = Instant::now();
            }
            r
        };
        if refresh {
            let rate = self.rate.lock().unwrap().per_second();
            let share = self.rate_share(rate);
            self.rate.lock().unwrap().set_share(share);
        }
        let now = self.started.elapsed().as_nanos() as u64;
        self.rate.lock().unwrap().allow(due, owed, now)
    }

    /// §15.1: waits while lowered until fewer handlers run than the lowered capacity.
    pub(super) async fn enter_gate(&self) {
        while !self.pushback.try_enter(self.capacity()) {
            // Boxed: every delivery awaits this future, few wait here.
            Box::pin(tokio::time::sleep(Duration::from_millis(10))).await;
        }
    }

    /// §15.1: keeps a pushed-back message in hand (+WPI every ack wait / 3) for `delay`; the
    /// rest of the delay when shutdown began meanwhile, None when the delay is over.
    pub(super) async fn hold_for_retry(&self, msg: &Message, delay: Duration) -> Option<Duration> {
        let until = Instant::now() + delay;
        let mut last_progress = Instant::now();
        loop {
            if self.shutting_down.load(Ordering::SeqCst) {
                return Some(until.saturating_duration_since(Instant::now()));
            }
            let now = Instant::now();
            if now >= until {
                return None;
            }
            if last_progress.elapsed() >= self.ack_wait / 3 {
                last_progress = now;
                if let Err(e) = msg.ack_with(AckKind::Progress).await {
                    log!("+WPI: {e}");
                }
            }
            tokio::time::sleep((until - now).min(Duration::from_millis(100))).await;
        }
    }

    /// §15.1: the AIMD step, every 100 ms (none with pushback switched off).
    pub(super) async fn pushback_ticks(self: Arc<Self>) {
        if !self.pushback.on() {
            return;
        }
        let mut last = self.processed_events.load(Ordering::SeqCst);
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let p = self.processed_events.load(Ordering::SeqCst);
            let idle = self.in_flight.load(Ordering::SeqCst) == 0;
            self.pushback
                .tick(self.capacity(), now_unix_ms(), p != last, idle);
            last = p;
        }
    }

    /// How long the pull loop sleeps without a wake: 50 ms while lowered by pushback (the limit
    /// changes on the tick, without a wake), else 200 ms.
    pub(super) fn pull_poll(&self) -> Duration {
        if self.pushback.limit(self.capacity()).is_some() {
            Duration::from_millis(50)
        } else {
            Duration::from_millis(200)
        }
    }
}
