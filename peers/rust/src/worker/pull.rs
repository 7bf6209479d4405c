//! The worker's pulls on the `workers` consumer (§7.1): at most `concurrency + prefetch`
//! messages in hand, each handed to its own task.

use super::Engine;
use crate::breaker::Allow;
use crate::{log, names};
use async_nats::jetstream::consumer::PullConsumer;
use futures_util::StreamExt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// The lifetime of a pull request on `workers` (as in the Java worker).
const PULL_EXPIRY: Duration = Duration::from_secs(5);

/// Free slots not covered by a pull request, and outstanding requests.
struct PullSlots {
    st: Mutex<(usize, usize)>,
    wake: Notify,
    /// Uncovered slots that make a new request while one is outstanding: `max(1, prefetch / 2)`.
    threshold: usize,
}

impl PullSlots {
    /// Frees `n` slots; wakes the pull loop only when it may issue a request now (a wake per
    /// delivery was a task switch per message). A lowered pushback limit only makes fewer slots
    /// usable, and the loop's own tick covers its changes.
    fn release(&self, n: usize, request_ended: bool) {
        let mut st = self.st.lock().unwrap();
        st.0 += n;
        if request_ended {
            st.1 -= 1;
        }
        let useful = st.0 >= if st.1 > 0 { self.threshold } else { 1 };
        drop(st);
        if useful {
            self.wake.notify_one();
        }
    }
}

impl Engine {
    /// Pulls with at most `concurrency + prefetch` messages in hand (§7.1). Like the Java
    /// worker: a request for every free slot not covered by an outstanding request, issued when
    /// none is outstanding or once at least `max(1, prefetch / 2)` slots are uncovered; each
    /// request lives `PULL_EXPIRY` (the server hands each message to the oldest waiting request,
    /// so a peer re-issuing short requests would keep landing at the back of the queue) and is
    /// replaced as soon as it ends. The batch's own timer (expiry + a margin) notices a request
    /// the server dropped, so no idle heartbeats are needed.
    pub(super) async fn pull_loop(
        self: Arc<Self>,
        consumer: PullConsumer,
        stop: watch::Receiver<bool>,
    ) {
        let limit = self.cfg.concurrency + self.cfg.prefetch;
        let pulls = Arc::new(PullSlots {
            st: Mutex::new((limit, 0)),
            wake: Notify::new(),
            threshold: (self.cfg.prefetch / 2).max(1),
        });
        let consumer = Arc::new(consumer);
        let mut tasks = Vec::new();
        loop {
            if *stop.borrow() {
                break;
            }
            let (n, probe, circuit_wait) = {
                let mut st = pulls.st.lock().unwrap();
                let threshold = if st.1 > 0 { pulls.threshold } else { 1 };
                // §15.1: in hand at most the lowered capacity.
                let avail = self.pushback.limit(self.capacity()).map_or(st.0, |l| {
                    st.0.min((l as usize).saturating_sub(limit - st.0))
                });
                if avail > 0 && avail >= threshold {
                    // §7.6: an open circuit pulls nothing, a half-open one a single probe.
                    match self.circuit_allow(avail) {
                        Allow::Pull { n, probe } => {
                            st.0 -= n;
                            st.1 += 1;
                            (n, probe, None)
                        }
                        Allow::Wait(d) => (0, None, Some(d)),
                    }
                } else {
                    (0, None, None)
                }
            };
            if n == 0 {
                let mut stop = stop.clone();
                let poll =
                    circuit_wait.map_or(self.pull_poll(), |d| d.max(Duration::from_millis(1)));
                tokio::select! {
                    _ = pulls.wake.notified(), if circuit_wait.is_none() => {}
                    _ = stop.changed() => {}
                    // §15.1: a lowered limit changes on the tick, without a wake.
                    _ = tokio::time::sleep(poll) => {}
                }
                continue;
            }
            tasks.retain(|t: &tokio::task::JoinHandle<()>| !t.is_finished());
            tasks.push(tokio::spawn(self.clone().fetch(
                consumer.clone(),
                n,
                probe,
                pulls.clone(),
                stop.clone(),
            )));
        }
        for t in tasks {
            let _ = t.await;
        }
    }

    /// One pull request for `n` messages; each goes to its own task and frees its slot when it
    /// leaves the worker's hands. Shutdown drops the request's subscription at once.
    async fn fetch(
        self: Arc<Self>,
        consumer: Arc<PullConsumer>,
        n: usize,
        probe: Option<u64>,
        pulls: Arc<PullSlots>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut got = 0;
        // The request ended as requests end (delivered its messages, or expired), not by an
        // error or shutdown: an empty probe that ended so found the queue empty (§7.6).
        let mut expired = false;
        match consumer
            .batch()
            .max_messages(n)
            .expires(PULL_EXPIRY)
            .messages()
            .await
        {
            Ok(mut batch) => loop {
                let next = tokio::select! {
                    m = batch.next() => {
                        expired = m.is_none();
                        m
                    }
                    _ = stop.changed() => None,
                };
                match next {
                    Some(Ok(msg)) => {
                        got += 1;
                        let w = self.clone();
                        let pulls = pulls.clone();
                        w.in_flight.fetch_add(1, Ordering::SeqCst);
                        // In an Arc before the spawn: the task's future holds a pointer, not the
                        // delivery.
                        let msg = Arc::new(msg);
                        let fut = async move {
                            w.handle(msg, probe).await;
                            if let Some(p) = probe {
                                w.probe_ended(p);
                            }
                            w.in_flight.fetch_sub(1, Ordering::SeqCst);
                            pulls.release(1, false);
                        };
                        tokio::spawn(fut);
                    }
                    Some(Err(e)) => {
                        log!("pull: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        break;
                    }
                    None => break,
                }
            },
            Err(e) => {
                log!("pull from {}: {e}", names::WORKER_CONSUMER);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        if let (Some(p), 0) = (probe, got) {
            if expired && !*stop.borrow() {
                self.probe_empty(p).await;
            }
            self.probe_ended(p);
        }
        pulls.release(n - got, true);
    }
}
