//! The worker's capacity advert and heartbeat (§5.2): what it writes to `sluice-capacity`, its
//! service rate, and the reconciler's debt share it reads on each heartbeat (§5.5).

use super::Engine;
use crate::error::Error;
use crate::proto::{CapacityAdvert, HandledType as PbHandled, ReconcilerLease, WorkerState};
use crate::worker_api::WorkerEvent;
use crate::{log, names, now_unix_ms, problem, LANGUAGE, PROTOCOL_VERSION};
use prost::Message as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::watch;

impl Engine {
    pub(super) fn event(&self, e: WorkerEvent) {
        if let Some(l) = &self.cfg.listener {
            l(&e);
        }
    }

    /// The configured capacity (§5.2): fixed, from the latency target and the service rate, or
    /// `concurrency + prefetch`.
    pub(super) fn capacity(&self) -> u32 {
        if let Some(c) = self.cfg.capacity {
            return c;
        }
        if let Some((wait, max_capacity)) = self.cfg.latency_target {
            let rate = self.service_rate.lock().unwrap().0;
            return crate::credits::latency_capacity(
                self.cfg.concurrency as u32,
                max_capacity,
                rate,
                wait.as_secs_f64(),
                self.cfg.token_batch,
            );
        }
        (self.cfg.concurrency + self.cfg.prefetch) as u32
    }

    pub(crate) fn advert(&self) -> CapacityAdvert {
        // §7.6: CIRCUIT_OPEN while the circuit is open, with capacity 0 like DRAINING.
        let state = self.advertised_state();
        let (debt, debt_seen) = self.debt.lock().unwrap().state();
        let owed = self.owed.lock().unwrap();
        let running = state == WorkerState::Running as i32;
        let (lowered, pushbacks, decreases, lowered_since) = self.pushback.advert(self.capacity());
        CapacityAdvert {
            worker_id: self.cfg.worker_id.clone(),
            queue: self.cfg.queue.clone(),
            protocol_version: PROTOCOL_VERSION,
            // §15.1: the capacity lowered by pushback, the configured one beside it.
            capacity: if running { lowered } else { 0 },
            nominal_capacity: if running { self.capacity() } else { 0 },
            pushbacks_total: pushbacks,
            pushback_decreases_total: decreases,
            lowered_since_unix_ms: lowered_since,
            // §15.2: mints within its share of the queue's rate.
            rate_limited: true,
            rate_share: self.rate.lock().unwrap().share(),
            in_flight: self.in_flight.load(Ordering::SeqCst),
            service_rate: self.service_rate.lock().unwrap().0,
            handled: self
                .cfg
                .handles
                .iter()
                .map(|h| PbHandled {
                    r#type: h.type_name.clone(),
                    min_version: h.min_version,
                    max_version: h.max_version,
                })
                .collect(),
            heartbeat_unix_ms: now_unix_ms(),
            ttl_ms: self.cfg.advert_ttl_ms,
            state,
            owed_credits: (owed.owed + owed.in_transit + owed.unconfirmed) as u32,
            language: LANGUAGE.into(),
            completed_total: self.completed_total.load(Ordering::SeqCst),
            minted_total: self.minted_total.load(Ordering::SeqCst),
            token_batch: self.cfg.token_batch,
            debt,
            debt_seen,
            absorbs_debt: self.kv_ctl.is_some(),
            // Why it reports itself failing (§5.2): informational, nothing reads it for credits.
            problem: self.problem_lines(),
        }
    }

    pub(crate) async fn write_advert(&self) -> Result<(), Error> {
        let key = names::capacity_key(&self.cfg.queue, &self.cfg.worker_id);
        self.kv_cap
            .put(&key, self.advert().encode_to_vec().into())
            .await
            .map(|_| ())
            .map_err(|e| {
                Error::Nats(format!(
                    "cannot write advert {}/{key}: {e}",
                    names::CAPACITY_BUCKET
                ))
            })
    }

    /// Updates the exponentially weighted completion rate.
    pub(super) fn update_rate(&self) {
        let mut r = self.service_rate.lock().unwrap();
        let completed = self.completed_total.load(Ordering::SeqCst);
        let elapsed = r.2.elapsed().as_secs_f64();
        if elapsed <= 0.0 {
            return;
        }
        r.0 = crate::credits::service_rate(r.0, completed - r.1, elapsed);
        r.1 = completed;
        r.2 = Instant::now();
    }

    pub(super) async fn heartbeat_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.cfg.heartbeat);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => {}
            }
            self.update_rate();
            self.read_lease().await;
            self.refresh_rate().await; // §15.2
            if let Err(e) = self.write_advert().await {
                log!("{e}");
            }
        }
    }

    /// Learns this worker's share of the reconciler's newest debt announcement (§5.5).
    pub(super) async fn read_lease(&self) {
        let Some(kv) = &self.kv_ctl else { return };
        let lease = match kv.get(names::reconciler_key(&self.cfg.queue)).await {
            Ok(Some(b)) => match ReconcilerLease::decode(b.as_ref()) {
                Ok(l) => l,
                Err(_) => return,
            },
            Ok(None) => ReconcilerLease::default(),
            Err(_) => return,
        };
        self.debt.lock().unwrap().offer(&lease, &self.cfg.worker_id);
    }

    /// The advert's `problem` field (§5.2): one `<code>: <text>` line per current problem, in
    /// code order.
    fn problem_lines(&self) -> String {
        self.problems()
            .iter()
            .map(|(code, why)| problem::line(code, why))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The current problems, by code.
    fn problems(&self) -> Vec<(&'static str, String)> {
        [
            (problem::DLQ_UNWRITABLE, &self.dlq_problem),
            (problem::IDEMPOTENCY_STORE, &self.store_problem),
        ]
        .into_iter()
        .map(|(code, slot)| (code, slot.lock().unwrap().clone()))
        .filter(|(_, why)| !why.is_empty())
        .collect()
    }

    /// Sets one problem's text (`""`: solved) and reports a change of the worker's health
    /// (§8.4): `Health` with every current problem, or with none when it is well again.
    pub(super) fn set_problem(&self, slot: &Mutex<String>, why: &str) {
        {
            let mut p = slot.lock().unwrap();
            if *p == why {
                return;
            }
            *p = why.to_string();
        }
        let problems = self.problems();
        self.event(WorkerEvent::Health {
            problem: (!problems.is_empty()).then(|| {
                problems
                    .into_iter()
                    .map(|(_, why)| why)
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
        });
    }
}
