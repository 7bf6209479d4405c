//! What the producer reads from the live adverts (§5.2): the §4.3 version check and why a send
//! waited past its acquire timeout (§6 step 8).

use super::Engine;
use crate::credits::AdvertView;
use crate::error::{CreditTimeoutReason, Error};
use crate::producer_api::VersionPolicy;
use crate::proto::{CapacityAdvert, QueueSettings};
use crate::{log, names, now_unix_ms};
use async_nats::jetstream::kv;
use futures_util::StreamExt;
use prost::Message as _;
use std::time::{Duration, Instant};

/// §4.3, policy WARN: how long a pair no live worker handled is sent without checking the
/// adverts again (and logging again).
const WARN_RECHECK: Duration = Duration::from_secs(1);
/// How long a live worker's "handled" answer is trusted (§4.3 [v1.3]: at most a second).
pub(crate) const HANDLED_TRUST: Duration = Duration::from_secs(1);

/// Live adverts of queue `queue` in the capacity bucket (§5.2), from a listing of the whole
/// bucket and a read per key of the queue; empty when they cannot be read. The reconciler's
/// reading (§5.5); the producer follows the adverts instead (`crate::adverts`).
pub(crate) async fn live_adverts(kv_cap: &kv::Store, queue: &str) -> Vec<CapacityAdvert> {
    let prefix = format!("{queue}.");
    let keys: Vec<String> = match kv_cap.keys().await {
        Ok(k) => k.filter_map(|k| async move { k.ok() }).collect().await,
        Err(e) => {
            log!("cannot list adverts: {e}");
            return Vec::new();
        }
    };
    let now = now_unix_ms();
    let mut out = Vec::new();
    for key in keys
        .into_iter()
        .filter(|k| k.strip_prefix(&prefix).is_some_and(|r| !r.contains('.')))
    {
        if let Ok(Some(b)) = kv_cap.get(&key).await {
            if let Ok(a) = CapacityAdvert::decode(b.as_ref()) {
                if AdvertView::from_proto(&a).live(now) {
                    out.push(a);
                }
            }
        }
    }
    out
}

/// Whether a live worker handles type `t` at version `v` (§4.3).
pub(crate) fn handles(live: &[CapacityAdvert], t: &str, v: u32) -> bool {
    live.iter().any(|a| {
        a.handled
            .iter()
            .any(|h| h.r#type == t && h.min_version <= v && v <= h.max_version)
    })
}

/// The §4.3 refusal, naming what the live workers handle.
pub(crate) fn version_error(live: &[CapacityAdvert], t: &str, v: u32) -> Error {
    let mut what: Vec<String> = live
        .iter()
        .flat_map(|a| {
            a.handled
                .iter()
                .map(|h| format!("{}@{}-{}", h.r#type, h.min_version, h.max_version))
        })
        .collect();
    what.sort();
    what.dedup();
    Error::VersionNotHandled {
        type_name: t.to_string(),
        version: v,
        live: what,
    }
}

impl Engine {
    /// §4.3: a pair a live worker handled is trusted for [`HANDLED_TRUST`], then checked again
    /// (workers deploy, and a fleet can stop handling a version); one none handles is refused
    /// (FAIL), or logged once and checked again at most once a second (WARN); ALLOW checks
    /// nothing.
    pub(super) async fn check_version(&self, t: &str, v: u32) -> Result<(), Error> {
        let policy = self.cfg.version_policy;
        if policy == VersionPolicy::Allow {
            return Ok(());
        }
        // A handful of pairs: compared in place, no key built per send.
        if self
            .checked
            .lock()
            .unwrap()
            .iter()
            .any(|((name, version), at)| name == t && *version == v && at.elapsed() < HANDLED_TRUST)
        {
            return Ok(());
        }
        let key = (t.to_string(), v);
        if policy == VersionPolicy::Warn
            && self
                .warned
                .lock()
                .unwrap()
                .get(&key)
                .is_some_and(|at| at.elapsed() < WARN_RECHECK)
        {
            return Ok(());
        }
        let live = self.live_adverts().await;
        if live.is_empty() {
            // No live worker to ask: checked again at the next send.
            return Ok(());
        }
        if handles(&live, t, v) {
            self.checked.lock().unwrap().insert(key, Instant::now());
            return Ok(());
        }
        let err = version_error(&live, t, v);
        if policy == VersionPolicy::Fail {
            return Err(err);
        }
        if self
            .warned
            .lock()
            .unwrap()
            .insert(key, Instant::now())
            .is_none()
        {
            tracing::warn!(
                target: "sluice",
                queue = %self.cfg.queue,
                producer = %self.cfg.producer_id,
                "{err}; sending anyway (version policy WARN)"
            );
        }
        Ok(())
    }

    /// Live adverts of this queue (§5.2), from the followed view; a send waits for its initial
    /// values at most its acquire timeout.
    pub(crate) async fn live_adverts(&self) -> Vec<CapacityAdvert> {
        self.adverts.live(self.cfg.acquire_timeout).await
    }

    /// Why a send waited past the acquire timeout (§6 step 8).
    pub(super) async fn acquire_failure(&self, msg_id: &str, t: &str, v: u32) -> Error {
        let timeout = |reason, detail: String| Error::CreditTimeout {
            msg_id: msg_id.to_string(),
            waited: self.cfg.acquire_timeout,
            reason,
            detail,
        };
        if self.st.lock().unwrap().hard_limit {
            return timeout(CreditTimeoutReason::StreamAtHardLimit, String::new());
        }
        let live = self.live_adverts().await;
        // Under WARN and ALLOW the sender chose to send anyway: the credit timeout says why.
        if self.cfg.version_policy == VersionPolicy::Fail
            && !live.is_empty()
            && !handles(&live, t, v)
        {
            return version_error(&live, t, v);
        }
        let settings = match self.kv_ctl.get(names::settings_key(&self.cfg.queue)).await {
            Ok(Some(b)) => QueueSettings::decode(b.as_ref()).unwrap_or_default(),
            _ => QueueSettings::default(),
        };
        let standing = settings.standing_buffer;
        let now = now_unix_ms();
        let window = crate::credits::window(
            standing,
            crate::credits::Bounds::from_settings(&settings),
            &live.iter().map(AdvertView::from_proto).collect::<Vec<_>>(),
            now,
        );
        if live.is_empty() && standing == 0 {
            timeout(CreditTimeoutReason::NoLiveWorkers, String::new())
        } else if window > 0 {
            timeout(
                CreditTimeoutReason::AllCreditsInUse,
                format!("live window {window}"),
            )
        } else {
            timeout(CreditTimeoutReason::NoLiveCapacity, "live window 0".into())
        }
    }
}
