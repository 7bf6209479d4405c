//! The worker's circuit breaker hooks (§7.6): what the pull loop may take, the advertised state
//! (`CIRCUIT_OPEN` with capacity 0 while open or probing), the handler results it counts and
//! how a probe ends. The rules are `crate::breaker`.

use super::Engine;
use crate::breaker::Allow;
use crate::log;
use crate::proto::WorkerState;
use crate::worker_api::WorkerEvent;
use std::sync::atomic::Ordering;
use std::time::Instant;

impl Engine {
    /// Whether the circuit is open or half-open.
    pub(super) fn circuit_open(&self) -> bool {
        self.breaker
            .as_ref()
            .is_some_and(|b| b.lock().unwrap().is_open(Instant::now()))
    }

    /// The state the advert carries: `CIRCUIT_OPEN` while a running worker's circuit is open.
    pub(super) fn advertised_state(&self) -> i32 {
        let state = self.state.load(Ordering::SeqCst);
        if state == WorkerState::Running as i32 && self.circuit_open() {
            WorkerState::CircuitOpen as i32
        } else {
            state
        }
    }

    /// How many of `wanted` messages the pull loop may take now.
    pub(super) fn circuit_allow(&self, wanted: usize) -> Allow {
        match &self.breaker {
            Some(b) => b.lock().unwrap().allow(wanted, Instant::now()),
            None => Allow::Pull {
                n: wanted,
                probe: None,
            },
        }
    }

    /// Ends probe `probe` with no verdict once its pull failed or its message left the worker's
    /// hands: a probe settled without a counted run (rejected, a duplicate, undecodable, not
    /// handled here) would otherwise keep the circuit waiting for its result. A probe whose run
    /// was recorded is over already.
    pub(super) fn probe_ended(&self, probe: u64) {
        if let Some(b) = &self.breaker {
            b.lock().unwrap().probe_ended(probe);
        }
    }

    /// Ends probe `probe` whose pull expired with no message (§7.6 [v1.3]): the queue is empty,
    /// the circuit closes and the worker advertises capacity again.
    pub(super) async fn probe_empty(&self, probe: u64) {
        let Some(b) = &self.breaker else { return };
        if !b.lock().unwrap().probe_empty(probe, Instant::now()) {
            return;
        }
        log!(
            "worker {}: the circuit's probe found the queue empty",
            self.cfg.worker_id
        );
        self.circuit_changed().await;
    }

    /// Counts one handler run (not a rejection, an undecodable payload or a pushback); `probe`
    /// is the run's probe number when it is the circuit's probe. When the circuit opens or
    /// closes, reports it and rewrites the advert at once, so producers feel the outage as
    /// back-pressure without waiting for the heartbeat.
    pub(super) async fn circuit_record(&self, failed: bool, probe: Option<u64>) {
        let Some(b) = &self.breaker else { return };
        if !b.lock().unwrap().record(failed, probe, Instant::now()) {
            return;
        }
        // Boxed: every delivery awaits this future, rarely the advert it writes.
        Box::pin(self.circuit_changed()).await;
    }

    /// Logs, reports and advertises a circuit that opened or closed.
    async fn circuit_changed(&self) {
        let open = self.circuit_open();
        if open {
            log!(
                "worker {}: circuit opened: the handler fails for most messages; pausing and \
                 advertising zero capacity",
                self.cfg.worker_id
            );
        } else {
            log!("worker {}: circuit closed: resuming", self.cfg.worker_id);
        }
        self.event(WorkerEvent::CircuitChanged { open });
        if let Err(e) = self.write_advert().await {
            log!("{e}");
        }
    }
}
