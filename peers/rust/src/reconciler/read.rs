//! What an audit reads (§5.5): the queue's settings, the live adverts and reports, the stored
//! tokens `T` and this worker's own owed credits and debt, at one moment.

use super::{Reading, Reconciler, DEFAULT_QUEUE_BATCH};
use crate::credits::{self, AdvertView, Bounds};
use crate::names;
use crate::proto::{CapacityAdvert, Ledger, ProducerReport, QueueSettings, WorkerState};
use futures_util::StreamExt;
use prost::Message as _;

impl Reconciler {
    /// W, B, T, S, O and the debt, with this worker's owed credits and debt read live (§5.5 [v1.2]).
    pub(super) async fn read(&self, now: i64) -> Result<Reading, String> {
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
        let (own_stored, mut live): (Vec<CapacityAdvert>, Vec<CapacityAdvert>) =
            crate::producer::live_adverts(&self.w.kv_cap, q)
                .await
                .into_iter()
                .partition(|a| names::capacity_key(q, &a.worker_id) == own_key);
        let own_stored = own_stored.first().map(|a| (a.heartbeat_unix_ms, a.ttl_ms));
        let (mut owed, mut debt) = (0u64, 0u64);
        for a in &live {
            owed += (a.owed_credits as u64).min(per_worker);
            debt += a.debt;
        }
        let js = &self.w.js;
        let credit_stream = js
            .get_stream(names::CREDIT_STREAM)
            .await
            .map_err(|e| e.to_string())?;
        let work_stream = names::work_stream(q);
        // B first, then T with this worker's owed credits and debt while it mints nothing: a
        // message finished in between is counted twice (a false surplus, which needs a second
        // reading), never nowhere (a false deficit would be minted). The gate is taken before B
        // and B is one round trip, so only T's round trip lies between the readings: every
        // message finished in that gap is counted twice, and under load a gap of a mint's round
        // trips plus three requests made a systematic surplus larger than the tolerance.
        //
        // This worker's plain finishing acks (§5.4) are the rest of the gap. One sent before B
        // was read may still be in B, until the server has taken it: counted twice, a false
        // surplus as large as the server's ack queue, which under load outgrew the tolerance and
        // made the reconciler burn credits that existed. So while B is read the worker sends no
        // finishing ack, and the acks sent before are confirmed first (a double ack: once it is
        // answered, every earlier ack has been taken and its message is out of B); of the acks
        // sent after B's answer none is counted: their messages were in B. The owed credits are
        // taken at B's answer, since confirmations go on while T is read (only minting waits).
        //
        // The tokens producers hold are read before B and just after T, and the larger count is
        // taken: what producers have spent and not yet reported is in B and in T, and the
        // tolerance covers it (§5.5 [v1.3]); a token acked between T and a single later reading
        // would be in T and outside the tolerance (under load producers ack a token about every
        // millisecond).
        let mut credit_consumer: async_nats::jetstream::consumer::PullConsumer = credit_stream
            .get_consumer(&names::credit_consumer(q))
            .await
            .map_err(|e| e.to_string())?;
        // The first reading comes before B, not between B and T: every round trip between B and
        // the reports is a gap in which credits spent and reported are in S but not in B (a
        // false deficit, which two audits in a row can read).
        let held_before = held(&mut credit_consumer).await?;
        let (backlog, tokens, own, held_tokens) = {
            let _gate = self.w.mint_gate.lock().await;
            let (backlog, owed_at_b) = {
                let _acks = self.w.hold_acks().await;
                self.w.confirm_for_audit().await;
                let backlog = js
                    .get_stream(&work_stream)
                    .await
                    .map_err(|e| e.to_string())?
                    .cached_info()
                    .state
                    .messages;
                (backlog, self.w.owed_at_backlog())
            };
            let tokens = self.stored_tokens(&credit_stream).await?;
            let held_after = held(&mut credit_consumer).await?;
            let mut own = self.w.advert();
            own.owed_credits = owed_at_b;
            (backlog, tokens, own, held_before.max(held_after))
        };
        // The producers' reports last: a report lags its producer's spending, and a credit spent
        // after the report was read is in B and in T but not in S (a false surplus); read after
        // B and T, the reports cover more of what was spent before those readings.
        let mut held_spent = 0u64;
        let mut live_producers = 0u32;
        for r in self.live_reports(now).await? {
            held_spent += r.held_spent as u64;
            live_producers += 1;
        }
        owed += own.owed_credits as u64;
        debt += own.debt;
        live.push(own);
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
            own_stored,
            held_tokens,
        })
    }

    /// The live producer reports of this queue. The keys come from the bucket stream's subjects
    /// (one stored message per key, a delete marker for a deleted one), not from a key listing:
    /// a listing is a consumer that delivers each key's last message, and a report rewritten
    /// while it ran (a busy producer writes one per token) could fall out of it, so under load an
    /// audit read no producer, without the producer's spent credits and without its tolerance,
    /// and saw a surplus. A failed read fails the audit (no correction is made from it).
    pub(super) async fn live_reports(&self, now: i64) -> Result<Vec<ProducerReport>, String> {
        let prefix = format!("{}producer.{}.", self.kv.prefix, self.w.cfg.queue);
        let stream = self
            .w
            .js
            .get_stream(format!("KV_{}", names::CONTROL_BUCKET))
            .await
            .map_err(|e| e.to_string())?;
        let mut subjects = stream
            .info_with_subjects(format!("{prefix}*"))
            .await
            .map_err(|e| e.to_string())?;
        let mut keys = Vec::new();
        while let Some(item) = subjects.next().await {
            let (subject, _) = item.map_err(|e| e.to_string())?;
            if let Some(key) = subject.strip_prefix(&self.kv.prefix) {
                keys.push(key.to_string());
            }
        }
        let mut out = Vec::new();
        for key in keys {
            // None: deleted (a producer that closed).
            if let Some(b) = self.kv.get(&key).await.map_err(|e| e.to_string())? {
                if let Ok(r) = ProducerReport::decode(b.as_ref()) {
                    if r.heartbeat_unix_ms + r.ttl_ms as i64 >= now {
                        out.push(r);
                    }
                }
            }
        }
        Ok(out)
    }

    /// T: credits stored in the credit stream for this queue, held tokens included (§5.3).
    pub(super) async fn stored_tokens(
        &self,
        s: &async_nats::jetstream::stream::Stream,
    ) -> Result<u64, String> {
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
    pub(super) async fn never_used(&self) -> Result<bool, String> {
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
}

/// The credit consumer's tokens delivered and not acked (`num_ack_pending`).
async fn held(c: &mut async_nats::jetstream::consumer::PullConsumer) -> Result<u64, String> {
    Ok(c.info().await.map_err(|e| e.to_string())?.num_ack_pending as u64)
}
