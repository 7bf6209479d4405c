//! Credit reservations (§6 steps 2 and 4): a send waits for a held token's credit, in fair
//! order once a fairness key is seen (§15.3), and ends its reservation spent or refunded.

use super::fair::{grant_fair, take_credit, unwait};
use super::Engine;
use crate::error::Error;
use crate::fairness::FairQueue;
use std::time::{Duration, Instant};

impl Engine {
    /// Reserves one credit, waiting for a token up to the acquire timeout (§6 steps 2 and 4);
    /// `key` is the send's fairness key (§15.3), `""` for none.
    pub(super) async fn acquire(
        &self,
        msg_id: &str,
        t: &str,
        v: u32,
        key: &str,
    ) -> Result<u64, Error> {
        let deadline = Instant::now() + self.cfg.acquire_timeout;
        let mut ticket: Option<u64> = None;
        loop {
            // Registered before the state is read: a token that arrives in between wakes it
            // (notify_waiters keeps no permit, so a later registration would miss it; an enabled
            // registration is also first in line for notify_one).
            let arrived = self.token_arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let (timed_out, pull) = {
                let mut guard = self.st.lock().unwrap();
                let st = &mut *guard;
                if !key.is_empty() && st.fair.is_none() {
                    let weights = self.weights.clone();
                    st.fair = Some(FairQueue::new(move |k| {
                        weights.get(k).copied().unwrap_or(1).clamp(1, 10_000)
                    }));
                }
                let tk = match ticket {
                    Some(tk) => tk,
                    None => {
                        st.next_ticket += 1;
                        let tk = st.next_ticket;
                        ticket = Some(tk);
                        st.waiting += 1;
                        st.key_waiting.add(key, 1);
                        if let Some(f) = &mut st.fair {
                            f.add(key, tk);
                        }
                        tk
                    }
                };
                let granted = if st.fair.is_some() {
                    let (granted, others) = grant_fair(st, tk);
                    if others {
                        // Credits handed to other waiting sends: wake them.
                        self.token_arrived.notify_waiters();
                    }
                    granted
                } else {
                    take_credit(&mut st.held)
                };
                if let Some(id) = granted {
                    unwait(st, key);
                    return Ok(id);
                }
                if st.closing {
                    st.abandoned.insert(tk);
                    unwait(st, key);
                    return Err(Error::Closed);
                }
                let timed_out = Instant::now() >= deadline;
                if timed_out {
                    st.abandoned.insert(tk);
                    unwait(st, key);
                }
                // The pull loop is woken only when it would start a pull (a wake per waiting
                // send was a lock, a timer and a task switch per message).
                (timed_out, !timed_out && self.pull_wanted(st))
            };
            if timed_out {
                return Err(self.acquire_failure(msg_id, t, v).await);
            }
            if pull {
                self.want_pull.notify_one();
            }
            let left = deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(50));
            let _ = tokio::time::timeout(left, arrived).await;
        }
    }

    /// Ends a reservation: refunded (the credit goes back to the token) or spent.
    pub(super) fn finish(&self, token: u64, refund: bool, sent: bool, key: &str) {
        let mut st = self.st.lock().unwrap();
        if sent {
            st.sent_total += 1;
            if !refund {
                st.key_granted.add(key, 1); // §15.3
            }
        }
        let mut full = false;
        if let Some(hd) = st.held.iter_mut().find(|t| t.id == token) {
            hd.inflight -= 1;
            if refund {
                hd.spent -= 1;
            }
            full = hd.inflight == 0 && hd.spent == hd.credits;
        }
        drop(st);
        if refund {
            self.token_arrived.notify_one();
        }
        if full {
            // Reported and acked now, not at the next cycle: until then its spent credits are in
            // the backlog and still in T, a surplus the reconciler reads (§5.5 tolerance).
            self.settle_now.notify_one();
        }
    }
}
