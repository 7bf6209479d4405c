//! Id-keys and the local processed cache (§9).

use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The id itself when it matches `^[A-Za-z0-9_-]{1,200}$`, else `=` + lowercase hex SHA-256.
pub fn id_key(msg_id: &str) -> String {
    let plain = (1..=200).contains(&msg_id.len())
        && msg_id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
    if plain {
        return msg_id.to_string();
    }
    let digest = Sha256::digest(msg_id.as_bytes());
    let mut out = String::with_capacity(65);
    out.push('=');
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The `sluice-processed` key `<q>.<id-key>`.
pub fn store_key(queue: &str, msg_id: &str) -> String {
    format!("{queue}.{}", id_key(msg_id))
}

/// A bounded, expiring set of processed id-keys.
pub struct ProcessedCache {
    window: Duration,
    capacity: usize,
    seen: HashMap<String, Instant>,
    order: VecDeque<(String, Instant)>,
}

impl ProcessedCache {
    pub fn new(window: Duration, capacity: usize) -> Self {
        ProcessedCache {
            window,
            capacity,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn evict(&mut self, now: Instant) {
        while let Some((key, at)) = self.order.front() {
            let expired = now.duration_since(*at) >= self.window;
            if !expired && self.order.len() <= self.capacity {
                break;
            }
            if self.seen.get(key) == Some(at) {
                self.seen.remove(key);
            }
            self.order.pop_front();
        }
    }

    pub fn contains(&mut self, key: &str) -> bool {
        self.evict(Instant::now());
        self.seen.contains_key(key)
    }

    /// Records `key`; returns false when it was already present.
    pub fn insert(&mut self, key: &str) -> bool {
        let now = Instant::now();
        self.evict(now);
        if self.seen.contains_key(key) {
            return false;
        }
        self.seen.insert(key.to_string(), now);
        self.order.push_back((key.to_string(), now));
        self.evict(now);
        true
    }
}
