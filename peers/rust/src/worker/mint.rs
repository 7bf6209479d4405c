//! The worker's confirmations and minting (§5.4): plain finishing acks confirmed by double acks
//! (up to `MAX_CONFIRMING` in flight) beside the minting of the owed credits in batches of `b`
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

/// Double acks confirming finishing acks that may be in flight at once.
const MAX_CONFIRMING: usize = 4;

impl Engine {
    /// `floor(clamp(b' / service_rate × 1000, 2, 20))` ms, 20 ms with no rate yet (§5.4).
    pub(super) fn linger(&self) -> Duration {
        let rate = self.service_rate.lock().unwrap().0;
        Duration::from_millis(crate::credits::linger_ms(self.cfg.token_batch, rate))
    }

    /// A finishing ack was sent plain: its credit is owed once a later double ack confirms it.
    /// The confirmer is woken only when it has something new to do: the first finish not under
    /// a confirmation starts its linger, the `b`-th fills a token; in between it sleeps until the
    /// linger ends (a wake per message was a task switch per message).
    pub(super) fn finished_plain(&self, msg: &Arc<Message>) {
        let mut o = self.owed.lock().unwrap();
        let now = Instant::now();
        if o.owed + o.unconfirmed == 0 {
            o.since = Some(now);
        }
        if o.uncovered == 0 {
            o.uncovered_since = Some(now);
        }
        o.unconfirmed += 1;
        o.uncovered += 1;
        let uncovered = o.uncovered;
        let previous = o.last_finished.replace(msg.clone());
        drop(o);
        // The delivery it replaces is freed outside the lock (its headers, subject and payload
        // are a score of frees that other finishing deliveries would otherwise wait behind).
        drop(previous);
        self.completed_total.fetch_add(1, Ordering::SeqCst);
        if uncovered == 1 || uncovered == self.cfg.token_batch as u64 {
            self.confirm_wake.notify_one();
        }
    }

    /// Confirms every finishing ack sent plain and not yet under a confirmation with one double
    /// ack on the last of them (§5.4): the server handles one connection's acks for a consumer
    /// in order and answers a double ack also for a message already acked. Their credits become
    /// owed (mintable). Returns how many it confirmed; on an error they are uncovered again, and
    /// the next confirmation (on this delivery or a later one) covers them.
    async fn confirm_finished(&self, last: Arc<Message>, n: u64) -> u64 {
        match last.double_ack().await {
            Ok(()) => {
                let mut o = self.owed.lock().unwrap();
                o.unconfirmed -= n;
                o.owed += n;
                n
            }
            Err(e) => {
                log!("finishing acks not confirmed: {e}; asking again");
                let mut o = self.owed.lock().unwrap();
                if o.uncovered == 0 {
                    o.uncovered_since = Some(Instant::now());
                }
                o.uncovered += n;
                o.last_finished.get_or_insert(last);
                0
            }
        }
    }

    /// Confirms the finishing acks sent plain and not yet under a confirmation, for the
    /// reconciler's audit (§5.5), which holds the acks back meanwhile: once it returns, every ack
    /// sent before has been taken (a double ack still in flight covers earlier ones only).
    pub(crate) async fn confirm_for_audit(&self) {
        let take = self.owed.lock().unwrap().take_uncovered();
        if let Some((last, n)) = take {
            self.confirm_finished(last, n).await;
        }
    }

    /// This worker's owed credits for an audit (§5.5), taken when the audit's reading of `B` is
    /// answered, with the finishing acks held back: every credit owed, minting, or finished by an
    /// ack sent so far (the audit confirmed those acks just before reading `B`, so their
    /// messages are out of it). Acks sent after `B`'s answer are not counted, though later
    /// confirmations make them owed while the audit reads on: their messages were in `B`. Nothing
    /// counted here reaches `T` before `T` is read, since the audit holds the mint gate.
    pub(crate) fn owed_at_backlog(&self) -> u32 {
        let o = self.owed.lock().unwrap();
        (o.owed + o.in_transit + o.unconfirmed) as u32
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

    /// Confirms finishing acks and mints owed credits, with carry and linger, until flushed
    /// empty at shutdown. The two run side by side: a confirmation's round trip overlaps the
    /// publishing of the tokens before it, so credits do not wait at the worker for both in turn
    /// (they did: under load a third of the window sat unconfirmed while the minter published).
    pub(super) async fn mint_loop(self: Arc<Self>) {
        tokio::join!(self.confirm_loop(), self.mint_owed());
    }

    /// Confirms the finishing acks sent plain (§5.4), one double ack for each token's worth
    /// (or what has lingered, or everything at shutdown), with up to `MAX_CONFIRMING` double
    /// acks in flight: under load a double ack's round trip is a millisecond or two, and credits
    /// finished meanwhile would otherwise wait for it to return before their own confirmation
    /// could start.
    async fn confirm_loop(&self) {
        use futures_util::stream::{FuturesUnordered, StreamExt};
        let b = self.cfg.token_batch as u64;
        let mut confirming = FuturesUnordered::new();
        // After a failed confirmation, none is sent before this (a broken connection is not
        // asked again in a tight loop).
        let mut pause_until: Option<Instant> = None;
        loop {
            let flushing = self.flushing.load(Ordering::SeqCst);
            let (take, wait) = {
                let mut o = self.owed.lock().unwrap();
                if flushing && o.unconfirmed == 0 && confirming.is_empty() {
                    return;
                }
                let linger = self.linger();
                let waited = o.uncovered_since.map(|s| s.elapsed());
                let lingered = waited.is_some_and(|w| w >= linger);
                let paused = pause_until.is_some_and(|p| Instant::now() < p);
                let due = o.uncovered > 0
                    && !paused
                    && confirming.len() < MAX_CONFIRMING
                    && (flushing || lingered || o.uncovered >= b);
                // Every uncovered finish left a delivery to confirm it with.
                let take = if due { o.take_uncovered() } else { None };
                let wait = match (waited, pause_until) {
                    (_, Some(p)) if paused => p.saturating_duration_since(Instant::now()),
                    (Some(w), _) => linger.saturating_sub(w),
                    (None, _) => Duration::from_secs(1),
                };
                (take, wait.max(Duration::from_millis(1)))
            };
            if let Some((last, n)) = take {
                confirming.push(self.confirm_finished(last, n));
                continue;
            }
            tokio::select! {
                Some(confirmed) = confirming.next(), if !confirming.is_empty() => {
                    if confirmed > 0 {
                        self.mint_wake.notify_one();
                    } else {
                        pause_until = Some(Instant::now() + Duration::from_millis(50));
                    }
                }
                _ = tokio::time::timeout(wait, self.confirm_wake.notified()) => {}
            }
        }
    }

    /// Mints owed (confirmed) credits with carry and linger until flushed empty at shutdown.
    async fn mint_owed(&self) {
        let b = self.cfg.token_batch as u64;
        loop {
            // Held from taking owed credits until their tokens are stored, so the reconciler
            // reads `T` and the owed credits at a moment when nothing is in between (§5.5 v1.2).
            let gate = self.mint_gate.lock().await;
            let flushing = self.flushing.load(Ordering::SeqCst);
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
            // The tokens of one round are published together: one round trip, not one each.
            let minted = futures_util::future::join_all(
                tokens
                    .iter()
                    .map(|n| self.mint_token(*n, MintReason::Replenish)),
            )
            .await;
            for (n, ok) in tokens.into_iter().zip(minted) {
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
