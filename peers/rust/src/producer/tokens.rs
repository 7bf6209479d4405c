//! The credit pulls (§6 steps 2 and 3): single-message pulls on the queue's credit consumer
//! while sends wait, each received token held un-acked.

use super::{Engine, Held, State};
use crate::{log, names};
use async_nats::jetstream::{AckKind, Message};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Engine {
    /// Keeps `min(prefetch, uncovered waiting sends)` single-message pulls outstanding (§6 step 2).
    pub(super) async fn pull_loop(self: Arc<Self>) {
        loop {
            let start = {
                let mut st = self.st.lock().unwrap();
                if st.closing {
                    return;
                }
                if self.pull_wanted(&st) {
                    st.pulls += 1;
                    true
                } else {
                    false
                }
            };
            if start {
                tokio::spawn(self.clone().pull_one());
            } else {
                let _ = tokio::time::timeout(Duration::from_millis(20), self.want_pull.notified())
                    .await;
            }
        }
    }

    /// §6 step 2: fewer than min(prefetch, sends waiting that held credits do not cover) pulls
    /// are outstanding.
    pub(super) fn pull_wanted(&self, st: &State) -> bool {
        let unspent: u64 = st.held.iter().map(|t| (t.credits - t.spent) as u64).sum();
        let uncovered = (st.waiting as u64).saturating_sub(unspent);
        (st.pulls as u64) < uncovered.min(self.cfg.prefetch as u64)
    }

    pub(super) async fn pull_one(self: Arc<Self>) {
        match self
            .consumer
            .batch()
            .max_messages(1)
            .expires(self.cfg.pull_expiry)
            .messages()
            .await
        {
            Ok(mut batch) => {
                while let Some(m) = batch.next().await {
                    match m {
                        Ok(msg) => self.receive(msg).await,
                        Err(e) => log!("credit pull: {e}"),
                    }
                }
            }
            Err(e) => {
                log!("credit pull: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        self.st.lock().unwrap().pulls -= 1;
        self.want_pull.notify_one();
    }

    /// Holds a received token un-acked (§6 step 3).
    pub(super) async fn receive(&self, msg: Message) {
        let Some(credits) = names::token_credits(msg.subject.as_str()) else {
            log!("dropping a token with an invalid subject {}", msg.subject);
            let _ = msg.ack_with(AckKind::Term).await;
            return;
        };
        let now = Instant::now();
        let mut st = self.st.lock().unwrap();
        let id = st.next_id;
        st.next_id += 1;
        st.held.push(Held {
            id,
            msg: Arc::new(msg),
            credits,
            spent: 0,
            inflight: 0,
            last_progress: now,
            last_used: now,
        });
        drop(st);
        // One wake per credit, not every waiting send at once: with 64 sends waiting for a
        // 32-credit token, half of them woke only to wait again.
        for _ in 0..credits {
            self.token_arrived.notify_one();
        }
    }
}
