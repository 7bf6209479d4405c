//! One audit (§5.5): the deficit `d`, confirmed by a second reading before a surplus is burned,
//! and the debt announced for what the burn could not fetch, shared by capacity.

use super::{Reconciler, FETCH_ALL, UNHELD_ONLY};
use crate::credits::{self, ReconcileAction};
use crate::proto::{CapacityAdvert, MintReason, ReconcilerLease, WorkerState};
use crate::{log, now_unix_ms};
use prost::Message as _;
use std::collections::BTreeMap;

impl Reconciler {
    pub(super) async fn audit(
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
        if credits::stale_view(r.own_stored, now) {
            // §5.5 [v1.3]: a view without this worker's current advert gives a wrong window. No
            // correction, and previous 0 so that the first audit on a current view is confirmed.
            log!(
                "reconciler of {}: no correction while its own advert is missing or old in the bucket",
                self.w.cfg.queue
            );
            ledger.audit_unix_ms = now;
            let lease = self.lease(now, Some(ledger), 0, current.as_ref());
            if self
                .kv
                .update(key, lease.encode_to_vec().into(), revision)
                .await
                .is_err()
            {
                self.leader = false;
            }
            return Ok(false);
        }
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
            // §5.5 [v1.3]: a debt being absorbed reads as a deficit while adverts lag; with
            // nothing left to finish (B + O = 0) the deficit is real.
            ReconcileAction::Mint(n)
                if !credits::mint_held_back(ledger.debt, ledger.backlog, ledger.owed) =>
            {
                self.mint(n, r.batch, MintReason::Reconcile).await;
                minted = n;
                tracing::info!(target: "sluice", queue = %self.w.cfg.queue, minted, window = ledger.window,
                    backlog = ledger.backlog, tokens = ledger.tokens, held_spent = ledger.held_spent,
                    owed = ledger.owed, "reconciler minted a deficit");
            }
            ReconcileAction::Burn(surplus) => {
                let amount = credits::burn_amount(
                    surplus,
                    ledger.live_producers as u64,
                    r.batch as u64,
                    r.held_tokens,
                    ledger.held_spent,
                );
                if amount > 0 {
                    let last_id = current.as_ref().map_or(0, |c| c.debt_id);
                    let absorbers: Vec<&CapacityAdvert> = r
                        .live
                        .iter()
                        .filter(|a| a.absorbs_debt && a.state == WorkerState::Running as i32)
                        .collect();
                    if absorbers.is_empty() {
                        burned = self.burn(amount, r.batch, FETCH_ALL).await;
                    } else if absorbers.iter().all(|a| a.debt_seen >= last_id) {
                        // Tokens nobody holds burn at once; only what producers hold becomes a
                        // debt, and no more of it than the workers still have to finish (§5.5
                        // [v1.3]): an idle queue pays nothing, its surplus lies in unheld tokens.
                        let payable =
                            credits::debt_payable(ledger.backlog, ledger.owed, ledger.debt);
                        let budget = if payable > 0 { UNHELD_ONLY } else { FETCH_ALL };
                        burned = self.burn(amount, r.batch, budget).await;
                        announced = (amount - burned).min(payable);
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
        // A first surplus reading, or an announcement that left part of the surplus (§5.5
        // [v1.3]), is read again a quarter interval later.
        Ok(deficit < 0 && prev_in >= 0 || announced > 0 && next_previous < 0)
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
