//! The producer's fairness-key bookkeeping (PROTOCOL.md §15.3): the credit grants to waiting sends
//! in deficit-round-robin order and `ProducerReport.fairness_keys`. The order itself is
//! `crate::fairness::FairQueue`.

use super::{Held, State};
use std::time::Instant;

/// Takes one credit of a held token; the token's id.
pub(super) fn take_credit(held: &mut [Held]) -> Option<u64> {
    let hd = held.iter_mut().find(|t| t.spent < t.credits)?;
    hd.spent += 1;
    hd.inflight += 1;
    hd.last_used = Instant::now();
    Some(hd.id)
}

/// §15.3 step 3: hands the held credits to the waiting sends in fair order, then returns the
/// credit granted to `ticket`, if any, and whether other sends were granted one now.
pub(super) fn grant_fair(st: &mut State, ticket: u64) -> (Option<u64>, bool) {
    let mut others = false;
    while st.held.iter().any(|t| t.spent < t.credits) {
        let Some((_, next)) = st.fair.as_mut().and_then(|f| f.poll()) else {
            break;
        };
        if st.abandoned.remove(&next) {
            continue;
        }
        let id = take_credit(&mut st.held).expect("a held credit");
        st.grants.insert(next, id);
        others |= next != ticket;
    }
    (st.grants.remove(&ticket), others)
}

/// A send stopped waiting.
pub(super) fn unwait(st: &mut State, key: &str) {
    st.waiting -= 1;
    if let Some(n) = st.key_waiting.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            st.key_waiting.remove(key);
        }
    }
}

/// `ProducerReport.fairness_keys` (§15.3 step 5): once a send had a key, at most 32 keys, the most
/// sends waiting first, then the most credits granted; `""` stands for the sends without a key.
pub(super) fn fairness_report(
    st: &State,
    weights: &std::collections::HashMap<String, u32>,
) -> Vec<crate::proto::FairnessKeyState> {
    if st.fair.is_none() {
        return Vec::new();
    }
    let mut keys: Vec<&String> = st.key_granted.keys().collect();
    keys.extend(
        st.key_waiting
            .keys()
            .filter(|k| !st.key_granted.contains_key(*k)),
    );
    let mut out: Vec<crate::proto::FairnessKeyState> = keys
        .into_iter()
        .map(|k| crate::proto::FairnessKeyState {
            key: k.clone(),
            weight: weights.get(k).copied().unwrap_or(1).clamp(1, 10_000),
            waiting: st.key_waiting.get(k).copied().unwrap_or(0),
            granted_total: st.key_granted.get(k).copied().unwrap_or(0),
        })
        .collect();
    out.sort_by(|a, b| {
        (b.waiting, b.granted_total, &a.key).cmp(&(a.waiting, a.granted_total, &b.key))
    });
    out.truncate(32);
    out
}
