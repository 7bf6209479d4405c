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
    st.key_waiting.take_one(key);
}

/// Counts per fairness key. The sends without a key (`""`, most sends of most producers) count
/// in a field, not in the map: a map entry for them would be hashed on every send and, for the
/// waiting count, removed and allocated again each time it drops to zero and rises.
#[derive(Default)]
pub(super) struct KeyCounts<N> {
    unkeyed: N,
    keyed: std::collections::HashMap<String, N>,
}

impl<N: Copy + Default + PartialEq + std::ops::AddAssign + std::ops::SubAssign + From<u8>>
    KeyCounts<N>
{
    /// Adds `n` to `key`'s count, copying the key only the first time it is seen.
    pub(super) fn add(&mut self, key: &str, n: N) {
        if key.is_empty() {
            self.unkeyed += n;
        } else if let Some(c) = self.keyed.get_mut(key) {
            *c += n;
        } else {
            self.keyed.insert(key.to_string(), n);
        }
    }

    /// Takes one from `key`'s count; a key counted down to zero is forgotten.
    fn take_one(&mut self, key: &str) {
        let one = N::from(1);
        if key.is_empty() {
            if self.unkeyed != N::default() {
                self.unkeyed -= one;
            }
        } else if let Some(c) = self.keyed.get_mut(key) {
            *c -= one;
            if *c == N::default() {
                self.keyed.remove(key);
            }
        }
    }

    /// `key`'s count; zero for a key never counted.
    pub(super) fn get(&self, key: &str) -> N {
        if key.is_empty() {
            self.unkeyed
        } else {
            self.keyed.get(key).copied().unwrap_or_default()
        }
    }

    /// The keys with a count (`""` when the sends without a key have one).
    fn keys(&self) -> impl Iterator<Item = &str> {
        let unkeyed = (self.unkeyed != N::default()).then_some("");
        unkeyed
            .into_iter()
            .chain(self.keyed.keys().map(String::as_str))
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
    let mut keys: Vec<&str> = st.key_granted.keys().collect();
    keys.extend(st.key_waiting.keys().filter(|k| st.key_granted.get(k) == 0));
    let mut out: Vec<crate::proto::FairnessKeyState> = keys
        .into_iter()
        .map(|k| crate::proto::FairnessKeyState {
            key: k.to_string(),
            weight: weights.get(k).copied().unwrap_or(1).clamp(1, 10_000),
            waiting: st.key_waiting.get(k),
            granted_total: st.key_granted.get(k),
        })
        .collect();
    out.sort_by(|a, b| {
        (b.waiting, b.granted_total, &a.key).cmp(&(a.waiting, a.granted_total, &b.key))
    });
    out.truncate(32);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fairness::FairQueue;
    use std::collections::HashMap;

    fn reported(st: &State) -> Vec<(String, u32, u64)> {
        fairness_report(st, &HashMap::new())
            .into_iter()
            .map(|k| (k.key, k.waiting, k.granted_total))
            .collect()
    }

    fn expected(rows: &[(&str, u32, u64)]) -> Vec<(String, u32, u64)> {
        rows.iter()
            .map(|(k, w, g)| (k.to_string(), *w, *g))
            .collect()
    }

    #[test]
    fn sends_without_a_key_are_reported_as_the_empty_key() {
        let mut st = State {
            fair: Some(FairQueue::new(|_: &str| 1)),
            ..State::default()
        };
        for k in ["", "", "t1"] {
            st.key_granted.add(k, 1);
        }
        for k in ["", "t2", "t2"] {
            st.key_waiting.add(k, 1);
        }
        // The most waiting first, then the most granted.
        assert_eq!(
            reported(&st),
            expected(&[("t2", 2, 0), ("", 1, 2), ("t1", 0, 1)])
        );
        // Sends that stop waiting: a key with none waiting and none granted leaves the report;
        // the empty key stays for its grants.
        for k in ["", "t2", "t2"] {
            st.waiting += 1;
            unwait(&mut st, k);
        }
        assert_eq!(reported(&st), expected(&[("", 0, 2), ("t1", 0, 1)]));
    }
}
