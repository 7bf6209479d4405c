//! Id-keys and the local processed cache (§9).

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
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

/// A bounded, expiring set of processed id-keys; the set and the order share each key.
pub struct ProcessedCache {
    window: Duration,
    capacity: usize,
    seen: HashMap<Arc<str>, Instant>,
    order: VecDeque<(Arc<str>, Instant)>,
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
            if self.seen.get(&**key) == Some(at) {
                self.seen.remove(&**key);
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
        let key: Arc<str> = Arc::from(key);
        self.seen.insert(key.clone(), now);
        self.order.push_back((key, now));
        self.evict(now);
        true
    }
}
