//! The reconciler (§5.5): one worker per queue, elected through a lease in `sluice-control`,
//! audits `d = W − (B + T − S + O − debt)` every audit interval and mints a confirmed deficit or
//! burns a confirmed surplus (fetching free tokens, then announcing the rest as a debt).

use crate::proto::{CapacityAdvert, Ledger, ReconcilerLease};
use crate::worker::Engine;
use crate::{log, names, now_unix_ms};
use async_nats::jetstream::kv;
use prost::Message as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

mod audit;
mod burn;
mod read;

/// The queue's token batch `b` when `QueueSettings` leaves it at 0 (§5.3).
const DEFAULT_QUEUE_BATCH: u32 = 32;
/// How long a burn that must not wait for held tokens fetches (the announce case).
const UNHELD_ONLY: Duration = Duration::from_millis(100);
/// How long each fetch of a burn that takes every unheld token waits (no worker absorbs debts,
/// or nothing is left to finish that could pay one): it ends at the first fetch that finds none.
const FETCH_ALL: Duration = Duration::from_millis(300);

/// Runs elections and audits every `every` until `stop`.
pub(crate) async fn run(w: Arc<Engine>, every: Duration, mut stop: watch::Receiver<bool>) {
    let Some(kv) = w.kv_ctl.clone() else {
        log!(
            "reconciler of {}: bucket {} is missing; not reconciling (run provisioning)",
            w.cfg.queue,
            names::CONTROL_BUCKET
        );
        return;
    };
    let mut r = Reconciler {
        w,
        kv,
        every,
        leader: false,
    };
    let mut next = every;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(next) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        next = match r.tick().await {
            // A surplus needs a second, agreeing reading: take it a quarter interval later (§5.5).
            Ok(true) => (every / 4).max(Duration::from_millis(1)),
            Ok(false) => every,
            Err(e) => {
                log!("reconciler of {}: {e}", r.w.cfg.queue);
                every
            }
        };
    }
}

struct Reconciler {
    w: Arc<Engine>,
    kv: kv::Store,
    every: Duration,
    leader: bool,
}

/// What one audit read.
struct Reading {
    ledger: Ledger,
    live: Vec<CapacityAdvert>,
    batch: u32,
    /// Its own worker's advert as read from the bucket: heartbeat and ttl, None when missing.
    own_stored: Option<(i64, u32)>,
    /// Tokens delivered to producers and not acked when `T` was read.
    held_tokens: u64,
}

impl Reconciler {
    fn lease(
        &self,
        now: i64,
        last: Option<Ledger>,
        previous: i64,
        debts: Option<&ReconcilerLease>,
    ) -> ReconcilerLease {
        let mut l = ReconcilerLease {
            holder: self.w.cfg.worker_id.clone(),
            expires_unix_ms: now + 3 * self.every.as_millis() as i64,
            last,
            previous_deficit: previous,
            ..Default::default()
        };
        if let Some(d) = debts.filter(|d| d.debt_id != 0) {
            l.debt_id = d.debt_id;
            l.debts = d.debts.clone();
        }
        l
    }

    /// One election and, when this worker holds the lease, one audit. `Ok(true)` asks for the
    /// confirming reading of a first surplus soon.
    async fn tick(&mut self) -> Result<bool, String> {
        let key = names::reconciler_key(&self.w.cfg.queue);
        let now = now_unix_ms();
        let entry = self.kv.entry(&key).await.map_err(|e| e.to_string())?;
        let exists = entry
            .as_ref()
            .is_some_and(|e| e.operation == kv::Operation::Put);
        let current = entry
            .as_ref()
            .filter(|_| exists)
            .and_then(|e| ReconcilerLease::decode(e.value.as_ref()).ok());
        // Every round reads the lease: that is how this worker learns its share of a debt.
        self.w
            .debt
            .lock()
            .unwrap()
            .offer(&current.clone().unwrap_or_default(), &self.w.cfg.worker_id);
        let previous = current.as_ref().map_or(0, |c| c.previous_deficit);
        let claim = self.lease(
            now,
            current.as_ref().and_then(|c| c.last),
            previous,
            current.as_ref(),
        );
        let claimed = if !exists {
            // A deleted key has a revision too: create() refuses only a live value.
            self.kv
                .create(&key, claim.encode_to_vec().into())
                .await
                .ok()
        } else if current
            .as_ref()
            .is_none_or(|c| c.holder == self.w.cfg.worker_id || c.expires_unix_ms < now)
        {
            let rev = entry.as_ref().map_or(0, |e| e.revision);
            self.kv
                .update(&key, claim.encode_to_vec().into(), rev)
                .await
                .ok()
        } else {
            None
        };
        let Some(revision) = claimed else {
            self.leader = false;
            return Ok(false);
        };
        if !self.leader {
            tracing::info!(target: "sluice", queue = %self.w.cfg.queue, worker = %self.w.cfg.worker_id, "now the reconciler");
        }
        self.leader = true;
        self.audit(&key, revision, previous, current).await
    }
}
