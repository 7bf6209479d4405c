//! The reconciler (§5.5): one worker per queue, elected through a lease in `sluice-control`,
//! audits `d = W − (B + T − S + O − debt)` every audit interval and mints a confirmed deficit or
//! burns a confirmed surplus (fetching free tokens, then announcing the rest as a debt).

use crate::credits::{self, AdvertView, Bounds, ReconcileAction};
use crate::proto::{
    CapacityAdvert, Ledger, MintReason, ProducerReport, QueueSettings, ReconcilerLease, WorkerState,
};
use crate::worker::Engine;
use crate::{log, names, now_unix_ms};
use async_nats::jetstream::kv;
use futures_util::StreamExt;
use prost::Message as _;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The queue's token batch `b` when `QueueSettings` leaves it at 0 (§5.3).
const DEFAULT_QUEUE_BATCH: u32 = 32;
/// How long a burn that must not wait for held tokens fetches (the announce case).
const UNHELD_ONLY: Duration = Duration::from_millis(100);

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

    async fn audit(
        &mut self,
        key: &str,
        revision: u64,
        mut previous: i64,
        current: Option<ReconcilerLease>,
    ) -> Result<bool, String> {
        let prev_in = previous;
        let now = now_unix_ms();
        let r = self.read(now).await?;
        let mut ledger = r.ledger;
        if current.is_none() && previous == 0 && self.never_used().await? {
            // First audit of a fresh queue (§5.5 [v1.2]): nothing can be in transit.
            previous = (ledger.window as i64).max(1);
        }
        // d = W − (B + T − S + O − debt): the debt is already out of circulation, which is the
        // same as a window larger by the debt.
        let (deficit, action) = credits::reconcile(
            ledger.window + ledger.debt,
            ledger.backlog,
            ledger.tokens,
            ledger.held_spent,
            ledger.owed,
            previous,
        );
        ledger.deficit = deficit;
        let (mut minted, mut burned, mut announced) = (0u64, 0u64, 0u64);
        let mut debts = current.clone();
        match action {
            ReconcileAction::Mint(n)
                if !(ledger.debt > 0 && ledger.backlog + ledger.tokens > 0) =>
            {
                self.mint(n, r.batch, MintReason::Reconcile).await;
                minted = n;
                tracing::info!(target: "sluice", queue = %self.w.cfg.queue, minted, window = ledger.window,
                    backlog = ledger.backlog, tokens = ledger.tokens, held_spent = ledger.held_spent,
                    owed = ledger.owed, "reconciler minted a deficit");
            }
            ReconcileAction::Burn(surplus) => {
                let amount =
                    credits::burn_amount(surplus, ledger.live_producers as u64, r.batch as u64);
                if amount > 0 {
                    let last_id = current.as_ref().map_or(0, |c| c.debt_id);
                    let absorbers: Vec<&CapacityAdvert> = r
                        .live
                        .iter()
                        .filter(|a| a.absorbs_debt && a.state == WorkerState::Running as i32)
                        .collect();
                    if absorbers.is_empty() {
                        burned = self.burn(amount, r.batch, Duration::from_millis(300)).await;
                    } else if absorbers.iter().all(|a| a.debt_seen >= last_id) {
                        // Tokens nobody holds burn at once; only what producers hold becomes a debt.
                        burned = self.burn(amount, r.batch, UNHELD_ONLY).await;
                        announced = amount - burned;
                        if announced > 0 {
                            let lease = ReconcilerLease {
                                debt_id: now.max(last_id + 1),
                                debts: shares(announced, &absorbers),
                                ..Default::default()
                            };
                            // This worker starts on its own share now, not at its next read.
                            self.w
                                .debt
                                .lock()
                                .unwrap()
                                .offer(&lease, &self.w.cfg.worker_id);
                            debts = Some(lease);
                        }
                    }
                    if burned > 0 || announced > 0 {
                        tracing::info!(target: "sluice", queue = %self.w.cfg.queue, burned, announced,
                            window = ledger.window, backlog = ledger.backlog, tokens = ledger.tokens,
                            "reconciler burned a surplus");
                    }
                }
            }
            _ => {}
        }
        ledger.minted = minted;
        ledger.burned = burned;
        ledger.debt_announced = announced;
        ledger.audit_unix_ms = now;
        let next_previous = if announced > 0 {
            deficit + burned as i64 + announced as i64
        } else if minted > 0 || burned > 0 {
            0
        } else {
            deficit
        };
        let lease = self.lease(now, Some(ledger), next_previous, debts.as_ref());
        if self
            .kv
            .update(key, lease.encode_to_vec().into(), revision)
            .await
            .is_err()
        {
            self.leader = false;
        }
        Ok(deficit < 0 && prev_in >= 0)
    }

    /// W, B, T, S, O and the debt, with this worker's owed credits and debt read live (§5.5 [v1.2]).
    async fn read(&self, now: i64) -> Result<Reading, String> {
        let q = &self.w.cfg.queue;
        let settings = match self.kv.get(names::settings_key(q)).await {
            Ok(Some(b)) => QueueSettings::decode(b.as_ref()).unwrap_or_default(),
            _ => QueueSettings::default(),
        };
        let bounds = Bounds::from_settings(&settings);
        let per_worker = match settings.max_worker_capacity {
            0 => credits::DEFAULT_MAX_WORKER_CAPACITY,
            n => n,
        } as u64;
        let batch = match settings.token_batch {
            0 => DEFAULT_QUEUE_BATCH,
            n => n,
        };
        let own_key = names::capacity_key(q, &self.w.cfg.worker_id);
        let mut live: Vec<CapacityAdvert> = crate::producer::live_adverts(&self.w.kv_cap, q)
            .await
            .into_iter()
            .filter(|a| names::capacity_key(q, &a.worker_id) != own_key)
            .collect();
        let (mut owed, mut debt) = (0u64, 0u64);
        for a in &live {
            owed += (a.owed_credits as u64).min(per_worker);
            debt += a.debt;
        }
        let js = &self.w.js;
        // B first, then T with this worker's owed credits and debt while it mints nothing: a
        // message finished in between is counted twice (a false surplus, which needs a second
        // reading), never nowhere (a false deficit would be minted).
        let backlog = {
            let mut s = js
                .get_stream(names::work_stream(q))
                .await
                .map_err(|e| e.to_string())?;
            s.info().await.map_err(|e| e.to_string())?.state.messages
        };
        let (tokens, own) = {
            let _gate = self.w.mint_gate.lock().await;
            let tokens = self.stored_tokens().await?;
            let own = self.w.advert();
            (tokens, own)
        };
        // The producers' reports last: a report lags its producer's spending, and a credit spent
        // after the report was read is in B and in T but not in S (a false surplus); read after
        // B and T, the reports cover more of what was spent before those readings.
        let mut held_spent = 0u64;
        let mut live_producers = 0u32;
        for r in self.live_reports(now).await {
            held_spent += r.held_spent as u64;
            live_producers += 1;
        }
        owed += own.owed_credits as u64;
        debt += own.debt;
        live.push(own);
        let held_tokens = {
            let s = js
                .get_stream(names::CREDIT_STREAM)
                .await
                .map_err(|e| e.to_string())?;
            let mut c: async_nats::jetstream::consumer::PullConsumer = s
                .get_consumer(&names::credit_consumer(q))
                .await
                .map_err(|e| e.to_string())?;
            c.info().await.map_err(|e| e.to_string())?.num_ack_pending as u64
        };
        // Bounded reports (§5.5 [v1.1]).
        let held_spent = held_spent.min(held_tokens * batch as u64).min(tokens);
        let views: Vec<AdvertView> = live.iter().map(AdvertView::from_proto).collect();
        let mut window = credits::window(settings.standing_buffer, bounds, &views, now);
        // §15.2: audit against the window the rate caps, and say so in the ledger.
        let (rate, burst) = crate::ratelimit::rate_of(&settings);
        let (mut rate_per_second, mut capacity_window, mut unlimited_workers) = (0.0, 0, 0u32);
        if crate::ratelimit::limited(rate) {
            let running: Vec<&CapacityAdvert> = live
                .iter()
                .filter(|a| a.state == WorkerState::Running as i32)
                .collect();
            unlimited_workers = running.iter().filter(|a| !a.rate_limited).count() as u32;
            rate_per_second = rate;
            capacity_window = window;
            window = crate::ratelimit::window(window, rate, burst as u64, running.len() as u64);
        }
        Ok(Reading {
            ledger: Ledger {
                window,
                rate_per_second,
                capacity_window,
                unlimited_workers,
                backlog,
                tokens,
                held_spent,
                owed,
                live_workers: live.len() as u32,
                live_producers,
                debt,
                ..Default::default()
            },
            live,
            batch,
        })
    }

    async fn live_reports(&self, now: i64) -> Vec<ProducerReport> {
        let prefix = format!("producer.{}.", self.w.cfg.queue);
        let keys: Vec<String> = match self.kv.keys().await {
            Ok(k) => k.filter_map(|k| async move { k.ok() }).collect().await,
            Err(_) => return Vec::new(),
        };
        let mut out = Vec::new();
        for key in keys.into_iter().filter(|k| k.starts_with(&prefix)) {
            if let Ok(Some(b)) = self.kv.get(&key).await {
                if let Ok(r) = ProducerReport::decode(b.as_ref()) {
                    if r.heartbeat_unix_ms + r.ttl_ms as i64 >= now {
                        out.push(r);
                    }
                }
            }
        }
        out
    }

    /// T: credits stored in the credit stream for this queue, held tokens included (§5.3).
    async fn stored_tokens(&self) -> Result<u64, String> {
        let s = self
            .w
            .js
            .get_stream(names::CREDIT_STREAM)
            .await
            .map_err(|e| e.to_string())?;
        let mut subjects = s
            .info_with_subjects(names::credit_filter(&self.w.cfg.queue))
            .await
            .map_err(|e| e.to_string())?;
        let mut total = 0u64;
        while let Some(item) = subjects.next().await {
            let (subject, count) = item.map_err(|e| e.to_string())?;
            total += names::token_credits(&subject).unwrap_or(0) as u64 * count as u64;
        }
        Ok(total)
    }

    /// The work stream never stored a message (its last sequence is 0).
    async fn never_used(&self) -> Result<bool, String> {
        let mut s = self
            .w
            .js
            .get_stream(names::work_stream(&self.w.cfg.queue))
            .await
            .map_err(|e| e.to_string())?;
        Ok(s.info()
            .await
            .map_err(|e| e.to_string())?
            .state
            .last_sequence
            == 0)
    }

    async fn mint(&self, credits: u64, batch: u32, reason: MintReason) {
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
    async fn burn(&self, amount: u64, batch: u32, budget: Duration) -> u64 {
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

/// Debt shares in proportion to capacity (equal when all are 0), largest remainders first, ties
/// by worker id, summing to `amount` (§5.5 fast burn).
fn shares(amount: u64, absorbers: &[&CapacityAdvert]) -> std::collections::HashMap<String, u64> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    if absorbers.is_empty() || amount == 0 {
        return Default::default();
    }
    let total: u64 = absorbers.iter().map(|a| a.capacity as u64).sum();
    let den = if total > 0 {
        total
    } else {
        absorbers.len() as u64
    };
    let mut given = 0;
    let mut rest = Vec::new();
    for a in absorbers {
        let weight = if total > 0 { a.capacity as u64 } else { 1 };
        let share = amount * weight / den;
        *out.entry(a.worker_id.clone()).or_default() += share;
        given += share;
        rest.push((amount * weight % den, a.worker_id.clone()));
    }
    rest.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
    let mut i = 0;
    while given < amount {
        *out.entry(rest[i % rest.len()].1.clone()).or_default() += 1;
        given += 1;
        i += 1;
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advert(id: &str, capacity: u32) -> CapacityAdvert {
        CapacityAdvert {
            worker_id: id.into(),
            capacity,
            ..Default::default()
        }
    }

    #[test]
    fn shares_follow_capacity_with_largest_remainders_then_ids() {
        let (a, b, c) = (advert("a", 1), advert("b", 1), advert("c", 2));
        let s = shares(5, &[&a, &b, &c]);
        // 5·1/4 = 1 r1, 5·1/4 = 1 r1, 5·2/4 = 2 r2: the one left goes to c.
        assert_eq!(s["a"], 1);
        assert_eq!(s["b"], 1);
        assert_eq!(s["c"], 3);
        let (x, y) = (advert("x", 0), advert("y", 0));
        let s = shares(3, &[&y, &x]);
        assert_eq!((s["x"], s["y"]), (2, 1));
    }
}
