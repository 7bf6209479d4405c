//! The other workers of a queue, from their capacity adverts (§5.2): for §4.2 (after the grace
//! period a decliner dead-letters only when no other live advert handles the message) and §7.2
//! step 3 (mixed fleet).

use crate::adverts::{AdvertsView, Following};
use crate::headers::ValidHeaders;
use crate::now_unix_ms;
use crate::outcome::Fleet;
use crate::proto::CapacityAdvert;
use std::sync::Arc;

/// Live-at-the-time-of-asking view of the adverts under `<q>.*`, the worker's own excluded.
pub struct FleetView {
    adverts: Arc<AdvertsView>,
    own_key: String,
}

impl FleetView {
    pub fn new(adverts: Arc<AdvertsView>, own_key: String) -> Arc<Self> {
        Arc::new(FleetView { adverts, own_key })
    }

    /// Starts following the adverts (one watch for the worker's lifetime, see
    /// [`AdvertsView`]); stopped when the result is stopped or dropped.
    pub fn follow(&self) -> Following {
        self.adverts.follow()
    }

    /// The other workers' adverts held now (§15.2: their capacities set this worker's share).
    pub fn all(&self) -> Vec<CapacityAdvert> {
        self.adverts.held(&self.own_key)
    }

    /// (live adverts that handle the delivery, live adverts that do not).
    fn count(&self, v: &ValidHeaders) -> (usize, usize) {
        let now = now_unix_ms();
        let mut out = (0, 0);
        self.adverts.each_held(&self.own_key, |a| {
            if a.heartbeat_unix_ms + (a.ttl_ms as i64) < now {
                return;
            }
            if advert_handles(a, v) {
                out.0 += 1;
            } else {
                out.1 += 1;
            }
        });
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
