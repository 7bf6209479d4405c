//! The worker's minting (§5.4): credits owed for finished deliveries, minted in batches of `b`
//! with carry and linger, withheld for a debt (§5.5) and paced to the rate share (§15.2).

use super::Engine;
use crate::credits::decompose;
use crate::proto::{CreditToken, MintReason};
use crate::{jsutil, log, names, now_unix_ms};
use async_nats::jetstream::Message;
use prost::Message as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Engine {
    /// `floor(clamp(b' / service_rate × 1000, 2, 20))` ms, 20 ms with no rate yet (§5.4).
    pub(super) fn linger(&self) -> Duration {
        let rate = self.service_rate.lock().unwrap().0;
        Duration::from_millis(crate::credits::linger_ms(self.cfg.token_batch, rate))
    }

    /// A finishing ack was sent plain: its credit is owed once a later double ack confirms it.
    /// The minter is woken only when it has something new to do: the first finish starts its
    /// linger, the `b`-th fills a token; in between it sleeps until the linger ends (a wake per
    /// message was a task switch per message).
    pub(super) fn finished_plain(&self, msg: &Arc<Message>) {
        let mut o = self.owed.lock().unwrap();
        let before = o.owed + o.unconfirmed;
        if before == 0 {
            o.since = Some(Instant::now());
        }
        o.unconfirmed += 1;
        let previous = o.last_finished.replace(msg.clone());
        drop(o);
        // The delivery it replaces is freed outside the lock (its headers, subject and payload
        // are a score of frees that other finishing deliveries would otherwise wait behind).
        drop(previous);
        self.completed_total.fetch_add(1, Ordering::SeqCst);
        if before == 0 || before + 1 == self.cfg.token_batch as u64 {
            self.mint_wake.notify_one();
        }
    }

    /// Confirms every finishing ack sent plain so far with one double ack on the last of them
    /// (§5.4): the server handles one connection's acks for a consumer in order and answers a
    /// double ack also for a message already acked. Their credits become owed (mintable).
    async fn confirm_finished(&self) {
        let (last, n) = {
            let mut o = self.owed.lock().unwrap();
            (o.last_finished.take(), o.unconfirmed)
        };
        let Some(last) = last else { return };
        match last.double_ack().await {
            Ok(()) => {
                let mut o = self.owed.lock().unwrap();
                o.unconfirmed -= n;
                o.owed += n;
            }
            Err(e) => {
                log!("finishing acks not confirmed: {e}; asking again");
                self.owed.lock().unwrap().last_finished.get_or_insert(last);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// Confirms the finishing acks sent plain so far for the reconciler's audit (§5.5), which
    /// holds the mint gate (no mint confirms meanwhile).
    pub(crate) async fn confirm_for_audit(&self) {
        self.confirm_finished().await;
    }

    /// Finishing acks sent plain and not yet confirmed.
    pub(crate) fn unconfirmed(&self) -> u64 {
        self.owed.lock().unwrap().unconfirmed
    }

    /// This worker's owed credits for an audit (§5.5) whose reading of B was answered when
    /// `sent_by_b` plain finishing acks were unconfirmed: every confirmed or minting credit, and
    /// those plain acks only. Read under the mint gate, so nothing was confirmed or minted since;
    /// acks sent after B's answer belong to messages B counted.
    pub(crate) fn owed_for_audit(&self, sent_by_b: u64) -> u32 {
        let o = self.owed.lock().unwrap();
        (o.owed + o.in_transit + o.unconfirmed.min(sent_by_b)) as u32
    }

    /// Owes credits for finished deliveries; called only after the finishing ack was confirmed.
    pub(super) fn owe(&self, n: u64) {
        let mut o = self.owed.lock().unwrap();
        if o.owed + o.unconfirmed == 0 {
            o.since = Some(Instant::now());
        }
        o.owed += n;
        drop(o);
        self.completed_total.fetch_add(n, Ordering::SeqCst);
        self.mint_wake.notify_one();
    }

    /// Mints owed credits with carry and linger until flushed empty at shutdown.
    pub(super) async fn mint_loop(self: Arc<Self>) {
        let b = self.cfg.token_batch as u64;
        loop {
            // Held from taking owed credits until their tokens are stored, so the reconciler
            // reads `T` and the owed credits at a moment when nothing is in between (§5.5 v1.2).
            let gate = self.mint_gate.lock().await;
            let flushing = self.flushing.load(Ordering::SeqCst);
            let confirm = {
                let o = self.owed.lock().unwrap();
                let lingered = o.since.is_some_and(|s| s.elapsed() >= self.linger());
                o.unconfirmed > 0 && (flushing || lingered || o.owed + o.unconfirmed >= b)
            };
            if confirm {
                // One round trip per mint, not one per message (§5.4).
                self.confirm_finished().await;
            }
            let (tokens, wait) = {
                let mut o = self.owed.lock().unwrap();
                let linger = self.linger();
                let mut tokens = Vec::new();
                if o.owed >= b {
                    let n = o.owed / b;
                    tokens = vec![b as u32; n as usize];
                    o.owed -= n * b;
                }
                let lingered = o.since.map(|s| s.elapsed() >= linger).unwrap_or(false);
                if o.owed > 0 && (flushing || lingered) {
                    tokens.extend(decompose(o.owed, b as u32));
                    o.owed = 0;
                }
                // §5.5: credits withheld for the reconciler's debt are never minted.
                let total: u64 = tokens.iter().map(|t| *t as u64).sum();
                let burn = self.debt.lock().unwrap().withhold(total);
                if burn > 0 {
                    tokens = decompose(total - burn, b as u32);
                }
                // §15.2: what the rate does not allow yet stays owed for the next linger round.
                let due = total - burn;
                let allowed = if flushing {
                    due
                } else {
                    self.paced(due, due + o.owed)
                };
                if allowed < due {
                    tokens = decompose(allowed, b as u32);
                    o.owed += due - allowed;
                    o.since = Some(Instant::now());
                }
                o.in_transit += tokens.iter().map(|t| *t as u64).sum::<u64>();
                if o.owed == 0 {
                    // Finishes sent since the confirmation linger from now.
                    o.since = (o.unconfirmed > 0).then(Instant::now);
                }
                let wait = match o.since {
                    Some(s) => linger
                        .saturating_sub(s.elapsed())
                        .max(Duration::from_millis(1)),
                    None => Duration::from_secs(1),
                };
                (tokens, wait)
            };
            if tokens.is_empty() {
                let drained = {
                    let o = self.owed.lock().unwrap();
                    o.owed == 0 && o.unconfirmed == 0
                };
                if flushing && drained {
                    return;
                }
                drop(gate);
                let _ = tokio::time::timeout(wait, self.mint_wake.notified()).await;
                continue;
            }
            for n in tokens {
                let ok = self.mint_token(n, MintReason::Replenish).await;
                let mut o = self.owed.lock().unwrap();
                o.in_transit -= n as u64;
                if ok {
                    self.minted_total.fetch_add(n as u64, Ordering::SeqCst);
                } else {
                    if o.owed + o.unconfirmed == 0 {
                        o.since = Some(Instant::now());
                    }
                    o.owed += n as u64;
                }
            }
        }
    }

    pub(crate) async fn mint_token(&self, n: u32, reason: MintReason) -> bool {
        let body = CreditToken {
            credits: n,
            minted_by: self.cfg.worker_id.clone(),
            minted_unix_ms: now_unix_ms(),
            reason: reason as i32,
        };
        let id = crate::credits::token_id(
            &self.cfg.worker_id,
            &self.mint_nonce,
            self.mint_seq.fetch_add(1, Ordering::SeqCst) + 1,
        );
        let subject = names::credit_subject(&self.cfg.queue, n);
        jsutil::publish_token(&self.js, subject, body.encode_to_vec().into(), id, 10).await
    }
}
