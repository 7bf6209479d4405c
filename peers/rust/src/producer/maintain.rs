//! The producer's maintenance cycle (§6 steps 1, 3, 6, 7): progress acks on held tokens, the
//! report in `sluice-control`, acks of spent tokens and returns of idle ones.

use super::fair::fairness_report;
use super::{Engine, Held, State};
use crate::producer_api::ProducerEvent;
use crate::proto::ProducerReport;
use crate::{log, names, now_unix_ms, LANGUAGE};
use async_nats::jetstream::AckKind;
use prost::Message as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Engine {
    pub(super) fn report(&self, st: &State) -> ProducerReport {
        ProducerReport {
            producer_id: self.cfg.producer_id.clone(),
            queue: self.cfg.queue.clone(),
            held_spent: st.held.iter().map(|t| t.spent - t.inflight).sum(),
            held_unspent: st.held.iter().map(|t| t.credits - t.spent).sum(),
            waiting: st.waiting,
            heartbeat_unix_ms: now_unix_ms(),
            ttl_ms: self.cfg.report_ttl_ms,
            language: LANGUAGE.into(),
            sent_total: st.sent_total,
            fairness_keys: fairness_report(st, &self.weights),
        }
    }

    pub(super) async fn keep_loop(self: Arc<Self>) {
        loop {
            let _ =
                tokio::time::timeout(Duration::from_millis(25), self.settle_now.notified()).await;
            if self.st.lock().unwrap().closing {
                return;
            }
            self.maintain(false).await;
        }
    }

    /// Progress acks, reports, acks of spent tokens and idle returns (§6 steps 1, 3, 6, 7).
    /// With `closing`, every held token goes back.
    pub(super) async fn maintain(&self, closing: bool) {
        let mut last_report = self.settle.lock().await;
        let now = Instant::now();
        let every = self.lease / 3;
        let (progress, finished, idle, report) = {
            let mut st = self.st.lock().unwrap();
            let mut progress = Vec::new();
            for t in st.held.iter_mut() {
                if now.duration_since(t.last_progress) >= every {
                    t.last_progress = now;
                    progress.push(t.msg.clone());
                }
            }
            let waiting = st.waiting;
            let idle_return = self.cfg.idle_return;
            let mut finished = Vec::new();
            let mut idle = Vec::new();
            st.held.retain(|t| {
                if closing {
                    // Unfinished publishes at close keep their reservation as spent.
                    if t.spent == t.credits {
                        finished.push(t.clone());
                    } else {
                        idle.push(t.clone());
                    }
                    return false;
                }
                if t.inflight > 0 {
                    return true;
                }
                if t.spent == t.credits {
                    finished.push(t.clone());
                    return false;
                }
                if waiting == 0 && now.duration_since(t.last_used) >= idle_return {
                    idle.push(t.clone());
                    return false;
                }
                true
            });
            let acking = !finished.is_empty() || idle.iter().any(|t| t.spent > 0);
            let active = !st.held.is_empty() || st.waiting > 0;
            let due = now.duration_since(*last_report) >= self.cfg.report_interval;
            let report = if acking || (due && (active || st.reported_nonzero)) {
                st.reported_nonzero = active;
                Some(self.report(&st))
            } else {
                None
            };
            (progress, finished, idle, report)
        };
        for m in progress {
            if let Err(e) = m.ack_with(AckKind::Progress).await {
                log!("+WPI on token: {e}");
            }
        }
        let (mut finished, mut idle) = (finished, idle);
        if let Some(r) = report {
            let key = names::producer_key(&self.cfg.queue, &self.cfg.producer_id);
            match self.kv_ctl.put(&key, r.encode_to_vec().into()).await {
                Ok(_) => *last_report = Instant::now(),
                Err(e) => {
                    // Without the report no spent token may be acked: keep holding those;
                    // unspent tokens can still go back.
                    log!("cannot write report {key}: {e}");
                    let (spent, unspent): (Vec<Held>, Vec<Held>) =
                        idle.into_iter().partition(|t| t.spent > 0);
                    let mut st = self.st.lock().unwrap();
                    st.held.append(&mut finished);
                    st.held.extend(spent);
                    idle = unspent;
                }
            }
        }
        let mut unacked = Vec::new();
        // Plain acks, as the Java producer sends them: waiting for a round trip here would hold
        // the next cycle back while more tokens are spent, and their credits would stay counted
        // in T. Only a broken connection loses one; the token then comes back after the lease
        // with its full value, a surplus the reconciler burns (§5.6).
        let acks = futures_util::future::join_all(finished.iter().map(|t| t.msg.ack())).await;
        for (t, r) in finished.into_iter().zip(acks) {
            if let Err(e) = r {
                // Still stored: keep holding it and ack it at the next cycle.
                log!("ack of a spent token: {e}");
                unacked.push(t);
            }
        }
        for t in idle {
            if t.spent == 0 {
                if let Err(e) = t.msg.ack_with(AckKind::Nak(None)).await {
                    log!("return of an unspent token: {e}");
                }
            } else if let Err(e) = t.msg.double_ack().await {
                log!("ack of a partly spent token: {e}");
                unacked.push(t);
            } else {
                // Partly spent: acked after the report that excludes it; the unspent rest is a
                // deficit the reconciler mints. A producer never publishes tokens (§6.7 [v1.1]).
                self.event(ProducerEvent::Returned {
                    unspent: t.credits - t.spent,
                });
            }
        }
        if !unacked.is_empty() {
            self.st.lock().unwrap().held.extend(unacked);
        }
    }
}
