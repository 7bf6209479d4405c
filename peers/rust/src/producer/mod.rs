//! The producer role (§4.3, §6): a minimal conforming producer.

use crate::adverts::{AdvertsView, Following};
use crate::error::Error;
use crate::fairness::FairQueue;
use crate::jsutil;
use crate::producer_api::{ProducerEvent, VersionPolicy};
use crate::proto::QueueSettings;
use crate::{log, names};
use async_nats::jetstream::{self, consumer::PullConsumer, kv, Message};
use prost::Message as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

mod fair;
mod headers;
mod live;
mod maintain;
mod reserve;
mod send;
mod tokens;

pub(crate) use live::{handles, live_adverts, version_error};

/// Receives every [`ProducerEvent`].
pub(crate) type ProducerListener = Arc<dyn Fn(&ProducerEvent) + Send + Sync>;

/// Everything a producer needs; built and validated by `ProducerBuilder`.
pub(crate) struct ProducerConfig {
    pub queue: String,
    pub producer_id: String,
    pub acquire_timeout: Duration,
    /// Outstanding single-message pulls while sends wait (§6 step 2).
    pub prefetch: usize,
    pub pull_expiry: Duration,
    pub report_interval: Duration,
    pub report_ttl_ms: u32,
    pub idle_return: Duration,
    /// How long one publish waits for its PubAck before it is retried.
    pub publish_timeout: Duration,
    /// §4.3: what a send of a type and version no live worker handles does.
    pub version_policy: VersionPolicy,
    pub listener: Option<ProducerListener>,
}

#[derive(Clone)]
struct Held {
    id: u64,
    msg: Arc<Message>,
    credits: u32,
    /// Credits reserved or spent.
    spent: u32,
    /// Reservations whose publish has not finished.
    inflight: u32,
    last_progress: Instant,
    last_used: Instant,
}

#[derive(Default)]
struct State {
    held: Vec<Held>,
    waiting: u32,
    /// §15.3: the sends waiting in fair order, from the first send with a key on; None keeps the
    /// single FIFO race of §6.
    fair: Option<FairQueue<u64>>,
    /// §15.3: tickets granted a credit by another waiter (ticket -> token id).
    grants: std::collections::HashMap<u64, u64>,
    /// §15.3: tickets whose send gave up; skipped when their turn comes.
    abandoned: std::collections::HashSet<u64>,
    next_ticket: u64,
    /// §15.3: sends waiting and sent per fairness key (`""`: sends without a key).
    key_waiting: fair::KeyCounts<u32>,
    key_granted: fair::KeyCounts<u64>,
    pulls: usize,
    sent_total: u64,
    next_id: u64,
    hard_limit: bool,
    closing: bool,
    reported_nonzero: bool,
}

pub(crate) struct Engine {
    cfg: ProducerConfig,
    /// (type, version) pairs a live advert handled (§4.3), and when that was read.
    checked: Mutex<std::collections::HashMap<(String, u32), Instant>>,
    /// §4.3, policy WARN: pairs no live worker handled, logged once, and when they were last
    /// checked (checked again at most once a second).
    warned: Mutex<std::collections::HashMap<(String, u32), Instant>>,
    /// The queue's capacity adverts, followed through one watch from start to close (§4.3,
    /// §6 step 8), and the task that follows them.
    adverts: Arc<AdvertsView>,
    following: Following,
    tasks: Mutex<Option<(tokio::task::JoinHandle<()>, tokio::task::JoinHandle<()>)>>,
    seq: std::sync::atomic::AtomicU64,
    nonce: String,
    /// `Sluice-Protocol`'s value.
    protocol: String,
    /// The work subject (§2), made once: a publish clones it without copying.
    work_subject: async_nats::Subject,
    /// The headers the sends of one type share (§3), hashed once.
    shared_headers: headers::SharedCache,
    js: jetstream::Context,
    consumer: PullConsumer,
    kv_ctl: kv::Store,
    lease: Duration,
    max_msg_size: i64,
    max_payload: i64,
    st: Mutex<State>,
    token_arrived: Notify,
    want_pull: Notify,
    /// Asks the maintenance cycle to run now: a token was spent to its last credit (§6 step 6).
    settle_now: Notify,
    settle: tokio::sync::Mutex<Instant>,
    /// §15.3: the queue's fairness weights, read at start.
    weights: Arc<std::collections::HashMap<String, u32>>,
}

/// Checks the topology (§2) and starts the credit pulls and the maintenance cycle.
pub(crate) async fn start(
    client: async_nats::Client,
    cfg: ProducerConfig,
) -> Result<Arc<Engine>, Error> {
    let mut js = jetstream::new(client.clone());
    let work = jsutil::require_stream(&js, &names::work_stream(&cfg.queue)).await?;
    // Read once: a message that could never be stored is refused before it spends a credit (§2.2).
    let max_msg_size = work.cached_info().config.max_message_size as i64;
    let max_payload = client.server_info().max_payload as i64;
    let mut credits = jsutil::require_stream(&js, names::CREDIT_STREAM).await?;
    let consumer = jsutil::require_pull_consumer(
        &mut credits,
        names::CREDIT_STREAM,
        &names::credit_consumer(&cfg.queue),
    )
    .await?;
    let kv_ctl = jsutil::require_kv(&js, names::CONTROL_BUCKET).await?;
    let kv_cap = jsutil::require_kv(&js, names::CAPACITY_BUCKET).await?;
    let lease = consumer.cached_info().config.ack_wait;
    let lease = if lease.is_zero() {
        Duration::from_secs(10)
    } else {
        lease
    };
    let weights = match kv_ctl.get(names::settings_key(&cfg.queue)).await {
        Ok(Some(b)) => QueueSettings::decode(b.as_ref())
            .map(|s| s.fairness_weights.into_iter().collect())
            .unwrap_or_default(),
        _ => Default::default(),
    };
    // The context is used for publishing from here on (the consumer and the buckets keep their
    // own): its timeout bounds the wait for each PubAck.
    js.set_timeout(cfg.publish_timeout);
    let work_subject = names::work_subject(&cfg.queue).into();
    let adverts = AdvertsView::new(client.clone(), kv_cap, cfg.queue.clone());
    let p = Arc::new(Engine {
        weights: Arc::new(weights),
        cfg,
        checked: Mutex::new(Default::default()),
        warned: Mutex::new(Default::default()),
        following: adverts.follow(),
        adverts,
        tasks: Mutex::new(None),
        seq: std::sync::atomic::AtomicU64::new(0),
        nonce: jsutil::instance_nonce(),
        protocol: crate::PROTOCOL_VERSION.to_string(),
        work_subject,
        shared_headers: Default::default(),
        js,
        consumer,
        kv_ctl,
        lease,
        max_msg_size,
        max_payload,
        st: Mutex::new(State::default()),
        token_arrived: Notify::new(),
        want_pull: Notify::new(),
        settle_now: Notify::new(),
        settle: tokio::sync::Mutex::new(Instant::now()),
    });
    let puller = tokio::spawn(p.clone().pull_loop());
    let keeper = tokio::spawn(p.clone().keep_loop());
    *p.tasks.lock().unwrap() = Some((puller, keeper));
    Ok(p)
}

impl Engine {
    fn event(&self, e: ProducerEvent) {
        if let Some(l) = &self.cfg.listener {
            l(&e);
        }
    }

    /// Closes the producer (§6 step 7): stops pulling, returns every held token and deletes the
    /// report. Sends still waiting fail with [`Error::Closed`].
    pub(crate) async fn close(&self) {
        let Some((puller, keeper)) = self.tasks.lock().unwrap().take() else {
            return;
        };
        self.st.lock().unwrap().closing = true;
        self.token_arrived.notify_waiters();
        let until = Instant::now() + self.cfg.pull_expiry + Duration::from_secs(2);
        while self.st.lock().unwrap().pulls > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        puller.abort();
        self.following.stop();
        // The keeper stops between cycles (it sees `closing`): aborting it mid-cycle could drop
        // tokens it had taken out of `held` (reported as spent, not yet acked), leaving their
        // credits stored in the credit stream: a surplus.
        let _ = keeper.await;
        self.maintain(true).await;
        let key = names::producer_key(&self.cfg.queue, &self.cfg.producer_id);
        if let Err(e) = self.kv_ctl.delete(&key).await {
            log!("cannot delete report {key}: {e}");
        }
        let _ = self.js.client().flush().await;
    }

    /// Messages this producer has sent (PubAck received).
    pub(crate) fn sent_total(&self) -> u64 {
        self.st.lock().unwrap().sent_total
    }
}
