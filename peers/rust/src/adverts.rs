//! The capacity adverts of one queue (§5.2), followed through one watch on `sluice-capacity`
//! keys `<q>.*` for as long as their reader lives: the producer's §4.3 check and §6 step 8
//! reason, the `schedule` role's §4.3 check and the worker's view of the other workers read
//! them. A listing per read would cost the server a consumer on the capacity bucket's stream and
//! a read per advert each time; the watch costs one consumer for the reader's lifetime.
//!
//! Liveness is judged when the adverts are read, from the latest value of each key; a deleted or
//! purged key leaves the view. While the watch runs (its initial values received) the view counts
//! as read now. While it is down (re-created a second after it failed), a read is one-shot: the
//! same filtered watch read to its end.

use crate::credits::AdvertView;
use crate::proto::CapacityAdvert;
use crate::{log, now_unix_ms};
use async_nats::jetstream::consumer::push::{Ordered, OrderedConfig};
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::kv;
use futures_util::StreamExt;
use prost::Message as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a one-shot read may take before it gives up (and reads no adverts).
const ONE_SHOT_LIMIT: Duration = Duration::from_secs(5);

/// Where the watch is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Created or being created, its initial values not all received yet.
    Starting,
    /// Received every key's last value and follows the changes.
    Current,
    /// Failed; re-created after a second.
    Down,
}

/// The last one-shot read and when it started. When the watch is down, the sends that need the
/// adverts together share one read: under this lock one reads, and those that started waiting
/// before that read began take its result (read after they asked, it is as fresh as their own
/// would have been).
type OneShot = tokio::sync::Mutex<Option<(Instant, Arc<Vec<CapacityAdvert>>)>>;

/// The latest advert of every key under `<q>.*` (see the module documentation).
pub struct AdvertsView {
    /// Makes the watch's inbox (the client's inbox prefix applies).
    client: async_nats::Client,
    store: kv::Store,
    queue: String,
    adverts: Mutex<HashMap<String, CapacityAdvert>>,
    phase: watch::Sender<Phase>,
    one_shot: OneShot,
}

/// The task following the adverts; aborted by [`Following::stop`] or when dropped.
pub struct Following(tokio::task::JoinHandle<()>);

impl Following {
    pub fn stop(&self) {
        self.0.abort();
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl AdvertsView {
    /// A view of queue `queue`'s adverts, not yet followed (see [`AdvertsView::follow`]).
    pub fn new(client: async_nats::Client, store: kv::Store, queue: String) -> Arc<Self> {
        Arc::new(AdvertsView {
            client,
            store,
            queue,
            adverts: Mutex::new(HashMap::new()),
            phase: watch::channel(Phase::Starting).0,
            one_shot: Default::default(),
        })
    }

    /// Starts following the adverts; they stop being followed when the result is stopped or
    /// dropped.
    pub fn follow(self: &Arc<Self>) -> Following {
        Following(tokio::spawn(self.clone().watch()))
    }

    /// Follows the keys until aborted; a failed watch is re-created after a second. A watch's
    /// initial values replace the view at once when they are all in, so a re-created watch drops
    /// the keys deleted while it was down.
    async fn watch(self: Arc<Self>) {
        loop {
            match open(&self.client, &self.store, &self.queue).await {
                Ok((mut entries, mut current)) => {
                    let mut initial = HashMap::new();
                    if current {
                        self.become_current(initial.clone());
                    }
                    while let Some(m) = entries.next().await {
                        let m = match m {
                            Ok(m) => m,
                            Err(e) => {
                                log!("adverts of {}: watch: {e}", self.queue);
                                break;
                            }
                        };
                        let Some((key, advert, pending)) = decode(&self.store.prefix, &m) else {
                            continue;
                        };
                        if current {
                            let mut held = self.adverts.lock().unwrap();
                            apply(&mut held, key, advert);
                        } else {
                            apply(&mut initial, key, advert);
                            if pending == 0 {
                                current = true;
                                self.become_current(std::mem::take(&mut initial));
                            }
                        }
                    }
                }
                Err(e) => log!("adverts of {}: watch: {e}", self.queue),
            }
            self.phase.send_replace(Phase::Down);
            tokio::time::sleep(Duration::from_secs(1)).await;
            self.phase.send_replace(Phase::Starting);
        }
    }

    fn become_current(&self, adverts: HashMap<String, CapacityAdvert>) {
        *self.adverts.lock().unwrap() = adverts;
        self.phase.send_replace(Phase::Current);
    }

    /// The adverts held now, live or not, the key `except` left out (the watch's latest values,
    /// whatever its phase).
    pub fn held(&self, except: &str) -> Vec<CapacityAdvert> {
        let m = self.adverts.lock().unwrap();
        m.iter()
            .filter(|(k, _)| k.as_str() != except)
            .map(|(_, a)| a.clone())
            .collect()
    }

    /// Calls `f` with each advert held now, the key `except` left out.
    pub fn each_held(&self, except: &str, mut f: impl FnMut(&CapacityAdvert)) {
        let m = self.adverts.lock().unwrap();
        for (_, a) in m.iter().filter(|(k, _)| k.as_str() != except) {
            f(a);
        }
    }

    /// The live adverts as of now (§5.2): the view's when the watch is current; while it starts,
    /// after its initial values (waiting at most `wait`); else a one-shot read that started after
    /// this call.
    pub async fn live(&self, wait: Duration) -> Vec<CapacityAdvert> {
        let asked = Instant::now();
        let mut phase = self.phase.subscribe();
        let current = tokio::time::timeout(wait, phase.wait_for(|p| *p != Phase::Starting))
            .await
            .ok()
            .and_then(|r| r.ok().map(|p| *p == Phase::Current))
            .unwrap_or(false);
        if current {
            let now = now_unix_ms();
            let m = self.adverts.lock().unwrap();
            return m
                .values()
                .filter(|a| AdvertView::from_proto(a).live(now))
                .cloned()
                .collect();
        }
        self.read_once_after(asked).await.as_ref().clone()
    }

    /// Live adverts read by a one-shot read that started at or after `asked`: the last one when
    /// it did, else a new one.
    async fn read_once_after(&self, asked: Instant) -> Arc<Vec<CapacityAdvert>> {
        let mut last = self.one_shot.lock().await;
        if let Some((started, live)) = last.as_ref() {
            if *started >= asked {
                return live.clone();
            }
        }
        let started = Instant::now();
        let live = Arc::new(read_once(&self.client, &self.store, &self.queue).await);
        *last = Some((started, live.clone()));
        live
    }
}

/// Live adverts of queue `queue` (§5.2), read once by a watch on `<q>.*` followed to its end;
/// empty when they cannot be read.
pub async fn read_once(
    client: &async_nats::Client,
    store: &kv::Store,
    queue: &str,
) -> Vec<CapacityAdvert> {
    let read = async {
        let (mut entries, current) = open(client, store, queue).await?;
        let mut held = HashMap::new();
        if !current {
            while let Some(m) = entries.next().await {
                let m = m.map_err(|e| e.to_string())?;
                if let Some((key, advert, pending)) = decode(&store.prefix, &m) {
                    apply(&mut held, key, advert);
                    if pending == 0 {
                        break;
                    }
                }
            }
        }
        Ok::<_, String>(held)
    };
    let held = match tokio::time::timeout(ONE_SHOT_LIMIT, read).await {
        Ok(Ok(held)) => held,
        Ok(Err(e)) => {
            log!("cannot read the adverts of {queue}: {e}");
            return Vec::new();
        }
        Err(_) => {
            log!("cannot read the adverts of {queue}: no answer within {ONE_SHOT_LIMIT:?}");
            return Vec::new();
        }
    };
    let now = now_unix_ms();
    held.into_values()
        .filter(|a| AdvertView::from_proto(a).live(now))
        .collect()
}

/// A watch on `<q>.*` from the last value of every key, and whether it had nothing to deliver
/// when created (its initial values are then all in).
async fn open(
    client: &async_nats::Client,
    store: &kv::Store,
    queue: &str,
) -> Result<(Ordered, bool), String> {
    let consumer = store
        .stream
        .create_consumer(OrderedConfig {
            deliver_subject: client.new_inbox(),
            description: Some("sluice adverts watch".to_string()),
            filter_subject: format!("{}{queue}.*", store.prefix),
            replay_policy: async_nats::jetstream::consumer::ReplayPolicy::Instant,
            deliver_policy: DeliverPolicy::LastPerSubject,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let current = consumer.cached_info().num_pending == 0;
    let entries = consumer.messages().await.map_err(|e| e.to_string())?;
    Ok((entries, current))
}

/// A watched message as (key, its advert or None when the key was deleted or purged, messages
/// still pending after it).
fn decode(
    prefix: &str,
    m: &async_nats::jetstream::Message,
) -> Option<(String, Option<CapacityAdvert>, u64)> {
    let pending = m.info().ok()?.pending;
    let key = m.subject.strip_prefix(prefix)?.to_string();
    let removed = m
        .headers
        .as_ref()
        .is_some_and(|h| h.get("KV-Operation").is_some() || h.get("Nats-Marker-Reason").is_some());
    let advert = if removed {
        None
    } else {
        CapacityAdvert::decode(m.payload.as_ref()).ok()
    };
    Some((key, advert, pending))
}

fn apply(held: &mut HashMap<String, CapacityAdvert>, key: String, advert: Option<CapacityAdvert>) {
    match advert {
        Some(a) => {
            held.insert(key, a);
        }
        None => {
            held.remove(&key);
        }
    }
}
