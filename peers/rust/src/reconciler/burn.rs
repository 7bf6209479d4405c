//! The reconciler's corrections (§5.5): minting a confirmed deficit and burning a surplus by
//! fetching and acking free tokens.

use super::Reconciler;
use crate::credits;
use crate::proto::MintReason;
use crate::{log, names};
use futures_util::StreamExt;
use std::time::Duration;

impl Reconciler {
    pub(super) async fn mint(&self, credits: u64, batch: u32, reason: MintReason) {
        for n in credits::decompose(credits, batch) {
            if !self.w.mint_token(n, reason).await {
                log!(
                    "reconciler of {}: a {n}-credit token could not be minted",
                    self.w.cfg.queue
                );
            }
        }
    }

    /// Fetches free tokens and acks them until `amount` credits are burned or none comes within
    /// `budget`; what a token held beyond the amount is minted back (`RETURN`).
    pub(super) async fn burn(&self, amount: u64, batch: u32, budget: Duration) -> u64 {
        let q = &self.w.cfg.queue;
        let consumer: async_nats::jetstream::consumer::PullConsumer =
            match self.w.js.get_stream(names::CREDIT_STREAM).await {
                Ok(s) => match s.get_consumer(&names::credit_consumer(q)).await {
                    Ok(c) => c,
                    Err(e) => {
                        log!("reconciler of {q}: {e}");
                        return 0;
                    }
                },
                Err(e) => {
                    log!("reconciler of {q}: {e}");
                    return 0;
                }
            };
        let mut burned = 0u64;
        while burned < amount {
            let mut batch_msgs = match consumer
                .batch()
                .max_messages(1)
                .expires(budget)
                .messages()
                .await
            {
                Ok(b) => b,
                Err(_) => break,
            };
            let Some(Ok(m)) = batch_msgs.next().await else {
                break; // every remaining token is held: burn the rest at a later audit
            };
            let Some(v) = names::token_credits(m.subject.as_str()) else {
                let _ = m.ack_with(async_nats::jetstream::AckKind::Term).await;
                continue;
            };
            let need = amount - burned;
            let v = v as u64;
            if v > need {
                self.mint(v - need, batch, MintReason::Return).await;
                burned += need;
            } else {
                burned += v;
            }
            if let Err(e) = m.double_ack().await {
                log!("reconciler of {q}: ack of a burned token: {e}");
            }
        }
        burned
    }
}
