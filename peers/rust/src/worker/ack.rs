//! The finishing acks (§5.4): a delivery whose handler succeeded hands its ack to one task that
//! sends them in order, plain, and records each as finished for the next confirmation.
//!
//! Why a task of its own rather than an `ack().await` at the end of each delivery: async-nats'
//! ack future is 608 bytes, and a delivery's future that holds it (allocated for every delivery,
//! as its task) was 1,192 bytes; without it, 736. glibc's `malloc` consolidates its fast bins
//! before serving a request of 1,024 bytes or more, which profiles showed under tokio's
//! `new_task`. And the audit (§5.5) needs a place to hold the finishing acks back while it reads
//! the backlog: `hold_acks`.

use super::Engine;
use crate::log;
use crate::worker_api::WorkerEvent;
use async_nats::jetstream::Message;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Acks taken from the queue at a time.
const BATCH: usize = 64;

/// One finishing ack to send, and the event to report once it is sent (with a listener).
pub(super) struct Finish {
    pub msg: Arc<Message>,
    pub event: Option<WorkerEvent>,
}

/// The queue of finishing acks: unbounded. A delivery's pull slot is freed once its ack is
/// queued, so the queue is bounded by how far the ack task falls behind the handlers (and every
/// message in it is still unacked, within the window like any other).
pub(super) type Acks = mpsc::UnboundedSender<Finish>;

impl Engine {
    /// Queues a finishing ack; shutdown waits for the queue to empty (`acks_queued`).
    pub(super) fn finish(&self, f: Finish) {
        self.acks_queued.fetch_add(1, Ordering::SeqCst);
        if self.acks.send(f).is_err() {
            // Only after the ack task ended, which it does not before the engine is dropped.
            self.acks_queued.fetch_sub(1, Ordering::SeqCst);
            log!("ack of a finished delivery not sent: the worker is stopping");
        }
    }

    /// Holds the finishing acks back until the guard is dropped (an audit reading B, §5.5).
    pub(crate) async fn hold_acks(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.ack_gate.lock().await
    }

    /// Sends the queued finishing acks until the queue closes.
    pub(super) async fn ack_loop(self: Arc<Self>, mut queue: mpsc::UnboundedReceiver<Finish>) {
        let mut batch = Vec::with_capacity(BATCH);
        while queue.recv_many(&mut batch, BATCH).await > 0 {
            let taken = batch.len() as u64;
            let gate = self.ack_gate.lock().await;
            for f in batch.drain(..) {
                match f.msg.ack().await {
                    Ok(()) => {
                        // Counted as finished as soon as it is sent: a credit is never counted
                        // nowhere (§5.5). Plain: the double ack before the next mint confirms it
                        // (§5.4).
                        self.finished_plain(&f.msg);
                        self.processed_events.fetch_add(1, Ordering::SeqCst);
                        if let Some(e) = f.event {
                            self.event(e);
                        }
                    }
                    Err(e) => log!("ack of a finished delivery not sent: {e}"),
                }
            }
            drop(gate);
            self.acks_queued.fetch_sub(taken, Ordering::SeqCst);
        }
    }
}
