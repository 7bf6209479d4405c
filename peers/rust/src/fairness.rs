//! Fairness keys (PROTOCOL.md §15.3 [v1.3]): the key format a producer enforces, and the grant
//! order of sends waiting for credits across keys. A worker never validates the key.

use std::collections::{HashMap, VecDeque};

/// The optional header carrying a message's fairness key.
pub const HEADER: &str = "Sluice-Fairness-Key";

/// The longest fairness key, in characters.
pub const MAX_LEN: usize = 64;

/// Whether `k` is 1 to 64 characters of `[A-Za-z0-9_.:@-]`.
pub fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= MAX_LEN
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'@' | b'-'))
}

struct Lane<W> {
    waiting: VecDeque<W>,
    weight: u32,
    deficit: u32,
    active: bool,
    granted: u64,
}

/// Sends waiting for credits, one FIFO lane per key, handed out in weighted max-min fair order:
/// deficit round robin, quantum = the key's weight, cost 1 per send (§15.3 step 3). The empty key
/// is the sends without a key.
pub struct FairQueue<W> {
    weight: Box<dyn Fn(&str) -> u32 + Send>,
    lanes: HashMap<String, Lane<W>>,
    ring: VecDeque<String>,
    len: usize,
}

impl<W> FairQueue<W> {
    /// An empty queue; `weight` gives a key's weight (0 counts as 1).
    pub fn new(weight: impl Fn(&str) -> u32 + Send + 'static) -> Self {
        FairQueue {
            weight: Box::new(weight),
            lanes: HashMap::new(),
            ring: VecDeque::new(),
            len: 0,
        }
    }

    /// Queues `w` at the end of `key`'s lane.
    pub fn add(&mut self, key: &str, w: W) {
        let weight = (self.weight)(key).max(1);
        let lane = self.lanes.entry(key.to_string()).or_insert_with(|| Lane {
            waiting: VecDeque::new(),
            weight,
            deficit: 0,
            active: false,
            granted: 0,
        });
        lane.waiting.push_back(w);
        self.len += 1;
        if !lane.active {
            lane.active = true;
            self.ring.push_back(key.to_string());
        }
    }

    /// The next send to grant a credit to, with its key; `None` when none waits.
    pub fn poll(&mut self) -> Option<(String, W)> {
        let key = self.ring.pop_front()?;
        let lane = self.lanes.get_mut(&key).expect("a lane in the ring exists");
        if lane.deficit < 1 {
            lane.deficit += lane.weight;
        }
        lane.deficit -= 1;
        lane.granted += 1;
        self.len -= 1;
        let w = lane
            .waiting
            .pop_front()
            .expect("a lane in the ring has a send");
        if lane.waiting.is_empty() {
            lane.deficit = 0;
            lane.active = false;
        } else if lane.deficit >= 1 {
            self.ring.push_front(key.clone());
        } else {
            self.ring.push_back(key.clone());
        }
        Some((key, w))
    }

    /// Sends waiting in every lane.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The `ProducerReport.fairness_keys` of a producer that sends one message at a time, all with
/// `key` (none without a key): the key with weight 1, its sends waiting and its credits granted.
pub fn report(
    key: Option<&str>,
    waiting: u32,
    granted_total: u64,
) -> Vec<crate::proto::FairnessKeyState> {
    key.map(|k| crate::proto::FairnessKeyState {
        key: k.to_string(),
        weight: 1,
        waiting,
        granted_total,
    })
    .into_iter()
    .collect()
}
