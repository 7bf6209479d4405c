//! The worker's side of the shared idempotency store (§9 [v1.2]): the check before a handler runs
//! and the record written before the finishing ack. The store itself is `crate::idstore`.

use super::Engine;
use crate::idempotency::id_key;
use crate::worker_api::{NakReason, WorkerEvent};
use crate::{log, names, now_unix_ms};
use async_nats::jetstream::{AckKind, Message};
use std::time::{Duration, Instant};

/// How long a delivery whose id the store cannot tell waits before it is delivered again.
const UNREADABLE_NAK: Duration = Duration::from_secs(1);

impl Engine {
    /// Asks the shared store whether `msg_id` was processed, when the store is enabled: a
    /// processed message is acked as a duplicate, and one the store cannot tell about is NAKed
    /// (1 s) rather than run. Returns whether the delivery is settled.
    pub(super) async fn settled_by_store(&self, msg: &Message, msg_id: &str, k: u64) -> bool {
        let Some(store) = &self.store else {
            return false;
        };
        let key = id_key(msg_id);
        match store.seen(&key).await {
            Ok(false) => false,
            Ok(true) => {
                self.cache.lock().unwrap().insert(&key);
                match msg.double_ack().await {
                    Ok(()) => {
                        self.owe(1);
                        self.event(WorkerEvent::Duplicate {
                            msg_id: msg_id.to_string(),
                        });
                    }
                    Err(e) => log!("ack of duplicate {msg_id} not confirmed: {e}"),
                }
                true
            }
            Err(e) => {
                log!("the shared idempotency store cannot be read ({e}): not running the handler of {msg_id}");
                if self.nak(msg, UNREADABLE_NAK).await {
                    self.event(WorkerEvent::Nak {
                        msg_id: Some(msg_id.to_string()),
                        attempt: k,
                        delay: UNREADABLE_NAK,
                        reason: NakReason::StoreUnreadable,
                    });
                }
                true
            }
        }
    }

    /// Records `msg_id` in the shared store before the finishing ack, when the store is enabled:
    /// retries with backoff, keeping the message with +WPI every ack wait / 3, for up to
    /// `max(handler timeout, 3 × ack wait)`; after that the caller acks without a record.
    pub(super) async fn record_processed(&self, msg: &Message, msg_id: &str) {
        let Some(store) = &self.store else { return };
        let key = id_key(msg_id);
        let value = format!("{} {}", self.cfg.worker_id, now_unix_ms());
        let deadline = Instant::now() + self.cfg.handler_timeout.max(3 * self.ack_wait);
        let mut last_progress = Instant::now();
        let mut wait = Duration::from_millis(50);
        loop {
            let failure = match store.create(&key, value.clone()).await {
                Ok(()) => {
                    self.set_problem(&self.store_problem, "");
                    return;
                }
                Err(e) => e,
            };
            self.set_problem(
                &self.store_problem,
                &format!(
                    "processed ids cannot be recorded in {} ({failure}): finished messages are \
                     held unacked; check the bucket, its leader and replicas",
                    names::PROCESSED_BUCKET
                ),
            );
            if Instant::now() >= deadline {
                log!(
                    "acking {msg_id} without a record in the shared idempotency store: a lost \
                     ack could run the handler again ({failure})"
                );
                return;
            }
            if last_progress.elapsed() >= self.ack_wait / 3 {
                last_progress = Instant::now();
                if let Err(e) = msg.ack_with(AckKind::Progress).await {
                    log!("+WPI: {e}");
                }
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(1));
        }
    }
}
