//! The other workers of a queue, from their capacity adverts (§5.2): for §4.2 (after the grace
//! period a decliner dead-letters only when no other live advert handles the message) and §7.2
//! step 3 (mixed fleet).

use crate::headers::ValidHeaders;
use crate::outcome::Fleet;
use crate::proto::CapacityAdvert;
use crate::{log, now_unix_ms};
use async_nats::jetstream::kv;
use futures_util::StreamExt;
use prost::Message as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Live-at-the-time-of-asking view of the adverts under `<q>.*`, the worker's own excluded.
#[derive(Default)]
pub struct FleetView {
    adverts: Mutex<HashMap<String, CapacityAdvert>>,
    own_key: String,
}

impl FleetView {
    pub fn new(own_key: String) -> Arc<Self> {
        Arc::new(FleetView {
            adverts: Mutex::new(HashMap::new()),
            own_key,
        })
    }

    /// Follows `sluice-capacity` keys `<q>.*` (a KV watch from the last value of every key)
    /// until the task is aborted; a failed watch is re-created after a second.
    pub async fn watch(self: Arc<Self>, store: kv::Store, queue: String) {
        let pattern = format!("{queue}.*");
        loop {
            match store.watch_with_history(&pattern).await {
                Ok(mut w) => {
                    while let Some(e) = w.next().await {
                        match e {
                            Ok(e) => self.apply(e),
                            Err(err) => {
                                log!("fleet view: watch {pattern}: {err}");
                                break;
                            }
                        }
                    }
                }
                Err(err) => log!("fleet view: watch {pattern}: {err}"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    fn apply(&self, e: kv::Entry) {
        if e.key == self.own_key {
            return;
        }
        let mut m = self.adverts.lock().unwrap();
        match e.operation {
            kv::Operation::Put => {
                if let Ok(a) = CapacityAdvert::decode(e.value.as_ref()) {
                    m.insert(e.key, a);
                }
            }
            _ => {
                m.remove(&e.key);
            }
        }
    }

    /// The other workers' adverts held now (§15.2: their capacities set this worker's share).
    pub fn all(&self) -> Vec<CapacityAdvert> {
        self.adverts.lock().unwrap().values().cloned().collect()
    }

    /// (live adverts that handle the delivery, live adverts that do not).
    fn count(&self, v: &ValidHeaders) -> (usize, usize) {
        let now = now_unix_ms();
        let m = self.adverts.lock().unwrap();
        let mut out = (0, 0);
        for a in m.values() {
            if a.heartbeat_unix_ms + (a.ttl_ms as i64) < now {
                continue;
            }
            if advert_handles(a, v) {
                out.0 += 1;
            } else {
                out.1 += 1;
            }
        }
        out
    }
}

/// The advert lists the type and version, at a protocol its worker implements.
pub fn advert_handles(a: &CapacityAdvert, v: &ValidHeaders) -> bool {
    (a.protocol_version.max(1) as u64) >= v.protocol
        && a.handled.iter().any(|h| {
            h.r#type == v.type_name && h.min_version <= v.version && v.version <= h.max_version
        })
}

impl Fleet for FleetView {
    fn handles(&self, v: &ValidHeaders) -> bool {
        self.count(v).0 > 0
    }
    fn declines(&self, v: &ValidHeaders) -> bool {
        self.count(v).1 > 0
    }
}
