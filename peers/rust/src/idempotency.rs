//! Id-keys and the local processed cache (§9).

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

/// The id itself when it matches `^[A-Za-z0-9_-]{1,200}$` (borrowed, not copied), else `=` +
/// lowercase hex SHA-256.
pub fn id_key(msg_id: &str) -> Cow<'_, str> {
    let plain = (1..=200).contains(&msg_id.len())
        && msg_id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
    if plain {
        return Cow::Borrowed(msg_id);
    }
    let digest = Sha256::digest(msg_id.as_bytes());
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(65);
    out.push('=');
    for b in digest.iter() {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    Cow::Owned(out)
}

/// The `sluice-processed` key `<q>.<id-key>`.
pub fn store_key(queue: &str, msg_id: &str) -> String {
    format!("{queue}.{}", id_key(msg_id))
}

/// A bounded, expiring set of processed id-keys.
///
/// Each key is kept as a 128-bit fingerprint: the SipHash-1-3 values of `(0, key)` and `(1, key)`
/// under one random key of this process (a keyed hash gives unrelated values for distinct
/// inputs; two `RandomState`s made in one thread would differ only by one in a key word), so
/// recording a key allocates nothing and an eviction reads no cold string. A false "processed"
/// needs another id to agree with one in the cache in all 128 bits of a keyed hash whose key
/// never leaves the process: about 2^-111 for a lookup in a full cache of 100 000 keys, and no
/// producer can aim for it.
pub struct ProcessedCache {
    window: Duration,
    capacity: usize,
    key: RandomState,
    /// The fingerprints of the keys in `order`, one each: a key is recorded only when absent,
    /// and leaves only with its entry of `order`.
    seen: HashSet<u128, BuildHasherDefault<Prehashed>>,
    order: VecDeque<(u128, Instant)>,
}

/// The table's hash of a fingerprint: its low 64 bits, already a keyed hash.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("the processed cache hashes only u128 fingerprints (write_u128)")
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

impl ProcessedCache {
    pub fn new(window: Duration, capacity: usize) -> Self {
        ProcessedCache {
            window,
            capacity,
            key: RandomState::new(),
            seen: HashSet::default(),
            order: VecDeque::new(),
        }
    }

    fn fingerprint(&self, key: &str) -> u128 {
        (u128::from(self.key.hash_one((0u8, key))) << 64)
            | u128::from(self.key.hash_one((1u8, key)))
    }

    fn evict(&mut self, now: Instant) {
        while let Some((fp, at)) = self.order.front() {
            let expired = now.saturating_duration_since(*at) >= self.window;
            if !expired && self.order.len() <= self.capacity {
                break;
            }
            self.seen.remove(fp);
            self.order.pop_front();
        }
    }

    pub fn contains(&mut self, key: &str) -> bool {
        self.contains_at(key, Instant::now())
    }

    /// Records `key`; returns false when it was already present.
    pub fn insert(&mut self, key: &str) -> bool {
        self.insert_at(key, Instant::now())
    }

    fn contains_at(&mut self, key: &str, now: Instant) -> bool {
        self.evict(now);
        self.seen.contains(&self.fingerprint(key))
    }

    fn insert_at(&mut self, key: &str, now: Instant) -> bool {
        self.evict(now);
        let fp = self.fingerprint(key);
        if !self.seen.insert(fp) {
            return false;
        }
        self.order.push_back((fp, now));
        self.evict(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_recorded_key_is_seen_and_others_are_not() {
        let t0 = Instant::now();
        let mut c = ProcessedCache::new(HOUR, 100);
        assert!(c.insert_at("p-abc-1", t0));
        assert!(c.contains_at("p-abc-1", t0));
        assert!(!c.contains_at("p-abc-2", t0));
        // Recording it again says it was there, and keeps one entry.
        assert!(!c.insert_at("p-abc-1", t0));
        assert_eq!(c.order.len(), 1);
    }

    #[test]
    fn the_oldest_key_leaves_when_the_cache_is_full() {
        let t0 = Instant::now();
        let mut c = ProcessedCache::new(HOUR, 3);
        for i in 0..4 {
            c.insert_at(&format!("id-{i}"), t0 + Duration::from_millis(i));
        }
        let now = t0 + Duration::from_millis(5);
        assert!(
            !c.contains_at("id-0", now),
            "the oldest of four in a cache of three"
        );
        for i in 1..4 {
            assert!(c.contains_at(&format!("id-{i}"), now), "id-{i}");
        }
        // A key that left can be recorded again, as new.
        assert!(c.insert_at("id-0", now));
        assert!(!c.contains_at("id-1", now));
        assert_eq!((c.seen.len(), c.order.len()), (3, 3));
    }

    #[test]
    fn a_key_leaves_at_the_end_of_its_window() {
        let t0 = Instant::now();
        let window = Duration::from_secs(10);
        let mut c = ProcessedCache::new(window, 100);
        c.insert_at("early", t0);
        c.insert_at("late", t0 + Duration::from_secs(5));
        let just_before = t0 + window - Duration::from_millis(1);
        assert!(c.contains_at("early", just_before));
        assert!(!c.contains_at("early", t0 + window));
        assert!(c.contains_at("late", t0 + window));
        assert!(!c.contains_at("late", t0 + Duration::from_secs(15)));
        assert!(c.seen.is_empty() && c.order.is_empty());
    }

    #[test]
    fn many_keys_keep_distinct_fingerprints() {
        // 200 000 ids in a cache of 100 000: each of the last 100 000 is seen, none of the first
        // (a fingerprint collision would make one of the first look processed).
        let t0 = Instant::now();
        let mut c = ProcessedCache::new(HOUR, 100_000);
        for i in 0..200_000 {
            assert!(c.insert_at(&format!("producer-nonce-{i}"), t0), "id {i}");
        }
        assert_eq!(c.seen.len(), 100_000);
        assert!((0..100_000).all(|i| !c.contains_at(&format!("producer-nonce-{i}"), t0)));
        assert!((100_000..200_000).all(|i| c.contains_at(&format!("producer-nonce-{i}"), t0)));
    }
}
