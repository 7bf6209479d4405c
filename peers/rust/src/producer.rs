//! The producer role (§4.3, §6): a minimal conforming producer.

use crate::credits::AdvertView;
use crate::error::{CreditTimeoutReason, Error};
use crate::fairness::FairQueue;
use crate::headers as h;
use crate::jsutil::{self, is_hard_limit};
use crate::producer_api::{OutgoingMessage, ProducerEvent, SendReceipt};
use crate::proto::{CapacityAdvert, ProducerReport, QueueSettings};
use crate::{log, names, now_unix_ms, size, trace, LANGUAGE, PROTOCOL_VERSION};
use async_nats::jetstream::{
    self, consumer::PullConsumer, context::PublishErrorKind, kv, AckKind, Message,
};
use async_nats::HeaderMap;
use futures_util::StreamExt;
use prost::Message as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tracing::Instrument;

mod fair;
use fair::{fairness_report, grant_fair, take_credit, unwait};

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
    key_waiting: std::collections::HashMap<String, u32>,
    key_granted: std::collections::HashMap<String, u64>,
    pulls: usize,
    sent_total: u64,
    next_id: u64,
    hard_limit: bool,
    closing: bool,
    reported_nonzero: bool,
}

pub(crate) struct Engine {
    cfg: ProducerConfig,
    /// (type, version) pairs already checked against the live adverts (§4.3).
    checked: Mutex<std::collections::HashSet<(String, u32)>>,
    tasks: Mutex<Option<(tokio::task::JoinHandle<()>, tokio::task::JoinHandle<()>)>>,
    seq: std::sync::atomic::AtomicU64,
    nonce: String,
    js: jetstream::Context,
    consumer: PullConsumer,
    kv_ctl: kv::Store,
    kv_cap: kv::Store,
    lease: Duration,
    max_msg_size: i64,
    max_payload: i64,
    st: Mutex<State>,
    token_arrived: Notify,
    want_pull: Notify,
    settle: tokio::sync::Mutex<Instant>,
    /// §15.3: the queue's fairness weights, read at start.
    weights: Arc<std::collections::HashMap<String, u32>>,
}

/// Checks the topology (§2) and starts the credit pulls and the maintenance cycle.
pub(crate) async fn start(
    client: async_nats::Client,
    cfg: ProducerConfig,
) -> Result<Arc<Engine>, Error> {
    let js = jetstream::new(client.clone());
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
    let p = Arc::new(Engine {
        weights: Arc::new(weights),
        cfg,
        checked: Mutex::new(Default::default()),
        tasks: Mutex::new(None),
        seq: std::sync::atomic::AtomicU64::new(0),
        nonce: jsutil::instance_nonce(),
        js,
        consumer,
        kv_ctl,
        kv_cap,
        lease,
        max_msg_size,
        max_payload,
        st: Mutex::new(State::default()),
        token_arrived: Notify::new(),
        want_pull: Notify::new(),
        settle: tokio::sync::Mutex::new(Instant::now()),
    });
    let puller = tokio::spawn(p.clone().pull_loop());
    let keeper = tokio::spawn(p.clone().keep_loop());
    *p.tasks.lock().unwrap() = Some((puller, keeper));
    Ok(p)
}

/// Live adverts of queue `queue` in the capacity bucket (§5.2); empty when they cannot be read.
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

    /// §4.3 with policy FAIL, once per (type, version) and again when a send times out.
    async fn check_version(&self, t: &str, v: u32) -> Result<(), Error> {
        if self.checked.lock().unwrap().contains(&(t.to_string(), v)) {
            return Ok(());
        }
        let live = self.live_adverts().await;
        if live.is_empty() {
            // No live worker to ask: checked again at the next send.
            return Ok(());
        }
        if !handles(&live, t, v) {
            return Err(version_error(&live, t, v));
        }
        self.checked.lock().unwrap().insert((t.to_string(), v));
        Ok(())
    }

    /// Live adverts of this queue (§5.2).
    pub(crate) async fn live_adverts(&self) -> Vec<CapacityAdvert> {
        live_adverts(&self.kv_cap, &self.cfg.queue).await
    }

    /// Why a send waited past the acquire timeout (§6 step 8).
    async fn acquire_failure(&self, msg_id: &str, t: &str, v: u32) -> Error {
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
        if !live.is_empty() && !handles(&live, t, v) {
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

    /// Reserves one credit, waiting for a token up to the acquire timeout (§6 steps 2 and 4);
    /// `key` is the send's fairness key (§15.3), `""` for none.
    async fn acquire(&self, msg_id: &str, t: &str, v: u32, key: &str) -> Result<u64, Error> {
        let deadline = Instant::now() + self.cfg.acquire_timeout;
        let mut ticket: Option<u64> = None;
        loop {
            // Registered before the state is read: a token that arrives in between wakes it
            // (notify_waiters keeps no permit, so a later registration would miss it).
            let arrived = self.token_arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let timed_out = {
                let mut guard = self.st.lock().unwrap();
                let st = &mut *guard;
                if !key.is_empty() && st.fair.is_none() {
                    let weights = self.weights.clone();
                    st.fair = Some(FairQueue::new(move |k| {
                        weights.get(k).copied().unwrap_or(1).clamp(1, 10_000)
                    }));
                }
                let tk = match ticket {
                    Some(tk) => tk,
                    None => {
                        st.next_ticket += 1;
                        let tk = st.next_ticket;
                        ticket = Some(tk);
                        st.waiting += 1;
                        *st.key_waiting.entry(key.to_string()).or_default() += 1;
                        if let Some(f) = &mut st.fair {
                            f.add(key, tk);
                        }
                        tk
                    }
                };
                let granted = if st.fair.is_some() {
                    let (granted, others) = grant_fair(st, tk);
                    if others {
                        // Credits handed to other waiting sends: wake them.
                        self.token_arrived.notify_waiters();
                    }
                    granted
                } else {
                    take_credit(&mut st.held)
                };
                if let Some(id) = granted {
                    unwait(st, key);
                    return Ok(id);
                }
                if st.closing {
                    st.abandoned.insert(tk);
                    unwait(st, key);
                    return Err(Error::Closed);
                }
                let timed_out = Instant::now() >= deadline;
                if timed_out {
                    st.abandoned.insert(tk);
                    unwait(st, key);
                }
                timed_out
            };
            if timed_out {
                return Err(self.acquire_failure(msg_id, t, v).await);
            }
            self.want_pull.notify_one();
            let left = deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(50));
            let _ = tokio::time::timeout(left, arrived).await;
        }
    }

    /// Ends a reservation: refunded (the credit goes back to the token) or spent.
    fn finish(&self, token: u64, refund: bool, sent: bool, key: &str) {
        let mut st = self.st.lock().unwrap();
        if sent {
            st.sent_total += 1;
            if !refund {
                *st.key_granted.entry(key.to_string()).or_default() += 1; // §15.3
            }
        }
        if let Some(hd) = st.held.iter_mut().find(|t| t.id == token) {
            hd.inflight -= 1;
            if refund {
                hd.spent -= 1;
            }
        }
        drop(st);
        if refund {
            self.token_arrived.notify_waiters();
        }
    }

    /// Sends one message (§6): waits for a credit, publishes, and returns once the server
    /// stored it.
    pub(crate) async fn send(&self, msg: OutgoingMessage) -> Result<SendReceipt, Error> {
        if self.st.lock().unwrap().closing {
            return Err(Error::Closed);
        }
        let msg_id = msg.msg_id.clone().unwrap_or_else(|| {
            format!(
                "{}-{}-{}",
                self.cfg.producer_id,
                self.nonce,
                self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
            )
        });
        let tp = msg.traceparent.clone().unwrap_or_else(trace::new_trace);
        let payload = msg.payload.clone();
        let mut headers = HeaderMap::new();
        headers.insert(h::MSG_ID, msg_id.as_str());
        headers.insert(h::PROTOCOL, PROTOCOL_VERSION.to_string());
        headers.insert(h::TYPE, msg.type_name.as_str());
        headers.insert(h::TYPE_VERSION, msg.version.to_string());
        headers.insert(h::CONTENT_TYPE, msg.content_type.as_str());
        headers.insert(h::TRACEPARENT, tp.header());
        headers.insert(h::PRODUCER, self.cfg.producer_id.as_str());
        headers.insert(h::SENT_AT, now_unix_ms().to_string());
        if let Some(k) = &msg.fairness_key {
            // §15.3 step 1: refused before a credit is reserved; never sent empty.
            if !crate::fairness::valid_key(k) {
                return Err(Error::InvalidFairnessKey {
                    msg_id,
                    key: k.clone(),
                });
            }
            headers.insert(crate::fairness::HEADER, k.as_str());
        }
        size::check(
            &jsutil::header_pairs(Some(&headers)),
            payload.len() as u64,
            &names::work_stream(&self.cfg.queue),
            self.max_msg_size,
            self.max_payload,
        )
        .map_err(|e| Error::MessageTooLarge {
            msg_id: msg_id.clone(),
            reason: e.to_string(),
        })?;
        self.check_version(&msg.type_name, msg.version).await?;
        let span = tracing::info_span!(
            target: "sluice",
            "sluice.send",
            queue = %self.cfg.queue,
            msg_id = %msg_id,
            r#type = %msg.type_name,
            version = msg.version,
            trace_id = %tp.trace_id,
            span_id = %tp.parent_id,
        );
        self.publish(msg_id, tp, headers, payload)
            .instrument(span)
            .await
    }

    async fn publish(
        &self,
        msg_id: String,
        tp: crate::trace::TraceParent,
        mut headers: HeaderMap,
        payload: bytes::Bytes,
    ) -> Result<SendReceipt, Error> {
        let t = headers
            .get(h::TYPE)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let v: u32 = headers
            .get(h::TYPE_VERSION)
            .and_then(|v| v.as_str().parse().ok())
            .unwrap_or(1);
        let key = headers
            .get(crate::fairness::HEADER)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let token = self.acquire(&msg_id, &t, v, &key).await?;
        // Sluice-Sent-At: when the first publish attempt starts.
        headers.insert(h::SENT_AT, now_unix_ms().to_string());
        let subject = names::work_subject(&self.cfg.queue);
        let deadline = Instant::now() + self.cfg.acquire_timeout.max(Duration::from_secs(10));
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let r = match self
                .js
                .publish_with_headers(subject.clone(), headers.clone(), payload.clone())
                .await
            {
                Ok(f) => f.await,
                Err(e) => Err(e),
            };
            match r {
                Ok(ack) => {
                    // A duplicate on the first attempt stored nothing new: refund (§6 step 4).
                    self.finish(token, ack.duplicate && attempt == 1, true, &key);
                    return Ok(SendReceipt {
                        msg_id,
                        stream_sequence: ack.sequence,
                        duplicate: ack.duplicate,
                        trace: tp,
                    });
                }
                Err(e) if is_hard_limit(&e) => {
                    // Back-pressure: wait and retry, keeping the reserved credit.
                    self.st.lock().unwrap().hard_limit = true;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) if e.kind() == PublishErrorKind::StreamNotFound => {
                    self.finish(token, true, false, &key);
                    return Err(Error::NotProvisioned {
                        what: format!("a stream for {subject}"),
                        cause: format!("publish of {msg_id}: no responders"),
                    });
                }
                Err(e) if e.kind() == PublishErrorKind::TimedOut => {
                    log!("publish of {msg_id} timed out; retrying with the same id");
                }
                Err(e) => {
                    log!("publish of {msg_id}: {e}; retrying with the same id");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            if Instant::now() >= deadline {
                // Not a definite failure: the reservation stays spent.
                let reason = if self.st.lock().unwrap().hard_limit {
                    "stream at its hard limit"
                } else {
                    "publish kept failing"
                };
                self.finish(token, false, false, &key);
                return Err(Error::Publish {
                    msg_id,
                    reason: reason.into(),
                });
            }
        }
    }

    /// Keeps `min(prefetch, uncovered waiting sends)` single-message pulls outstanding (§6 step 2).
    async fn pull_loop(self: Arc<Self>) {
        loop {
            let start = {
                let mut st = self.st.lock().unwrap();
                if st.closing {
                    return;
                }
                // §6 step 2: at most min(prefetch, sends waiting that held credits do not
                // cover) pulls outstanding.
                let unspent: u64 = st.held.iter().map(|t| (t.credits - t.spent) as u64).sum();
                let uncovered = (st.waiting as u64).saturating_sub(unspent);
                if (st.pulls as u64) < uncovered.min(self.cfg.prefetch as u64) {
                    st.pulls += 1;
                    true
                } else {
                    false
                }
            };
            if start {
                tokio::spawn(self.clone().pull_one());
            } else {
                let _ = tokio::time::timeout(Duration::from_millis(20), self.want_pull.notified())
                    .await;
            }
        }
    }

    async fn pull_one(self: Arc<Self>) {
        match self
            .consumer
            .batch()
            .max_messages(1)
            .expires(self.cfg.pull_expiry)
            .messages()
            .await
        {
            Ok(mut batch) => {
                while let Some(m) = batch.next().await {
                    match m {
                        Ok(msg) => self.receive(msg).await,
                        Err(e) => log!("credit pull: {e}"),
                    }
                }
            }
            Err(e) => {
                log!("credit pull: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        self.st.lock().unwrap().pulls -= 1;
        self.want_pull.notify_one();
    }

    /// Holds a received token un-acked (§6 step 3).
    async fn receive(&self, msg: Message) {
        let Some(credits) = names::token_credits(msg.subject.as_str()) else {
            log!("dropping a token with an invalid subject {}", msg.subject);
            let _ = msg.ack_with(AckKind::Term).await;
            return;
        };
        let now = Instant::now();
        let mut st = self.st.lock().unwrap();
        let id = st.next_id;
        st.next_id += 1;
        st.held.push(Held {
            id,
            msg: Arc::new(msg),
            credits,
            spent: 0,
            inflight: 0,
            last_progress: now,
            last_used: now,
        });
        drop(st);
        self.token_arrived.notify_waiters();
    }

    fn report(&self, st: &State) -> ProducerReport {
        ProducerReport {
            producer_id: self.cfg.producer_id.clone(),
            queue: self.cfg.queue.clone(),
            held_spent: st.held.iter().map(|t| t.spent).sum(),
            held_unspent: st.held.iter().map(|t| t.credits - t.spent).sum(),
            waiting: st.waiting,
            heartbeat_unix_ms: now_unix_ms(),
            ttl_ms: self.cfg.report_ttl_ms,
            language: LANGUAGE.into(),
            sent_total: st.sent_total,
            fairness_keys: fairness_report(st, &self.weights),
        }
    }

    async fn keep_loop(self: Arc<Self>) {
        loop {
            tokio::time::sleep(Duration::from_millis(25)).await;
            if self.st.lock().unwrap().closing {
                return;
            }
            self.maintain(false).await;
        }
    }

    /// Progress acks, reports, acks of spent tokens and idle returns (§6 steps 1, 3, 6, 7).
    /// With `closing`, every held token goes back.
    async fn maintain(&self, closing: bool) {
        let mut last_report = self.settle.lock().await;
        let now = Instant::now();
        let every = self.lease / 3;
        let (progress, finished, idle, report) = {
            let mut st = self.st.lock().unwrap();
            let mut progress = Vec::new();
            for t in st.held.iter_mut() {
                if now.duration_since(t.last_progress) >= every {
                    t.last_progress = now;
                    progress.push(t.msg.clone());
                }
            }
            let waiting = st.waiting;
            let idle_return = self.cfg.idle_return;
            let mut finished = Vec::new();
            let mut idle = Vec::new();
            st.held.retain(|t| {
                if closing {
                    // Unfinished publishes at close keep their reservation as spent.
                    if t.spent == t.credits {
                        finished.push(t.clone());
                    } else {
                        idle.push(t.clone());
                    }
                    return false;
                }
                if t.inflight > 0 {
                    return true;
                }
                if t.spent == t.credits {
                    finished.push(t.clone());
                    return false;
                }
                if waiting == 0 && now.duration_since(t.last_used) >= idle_return {
                    idle.push(t.clone());
                    return false;
                }
                true
            });
            let acking = !finished.is_empty() || idle.iter().any(|t| t.spent > 0);
            let active = !st.held.is_empty() || st.waiting > 0;
            let due = now.duration_since(*last_report) >= self.cfg.report_interval;
            let report = if acking || (due && (active || st.reported_nonzero)) {
                st.reported_nonzero = active;
                Some(self.report(&st))
            } else {
                None
            };
            (progress, finished, idle, report)
        };
        for m in progress {
            if let Err(e) = m.ack_with(AckKind::Progress).await {
                log!("+WPI on token: {e}");
            }
        }
        let (mut finished, mut idle) = (finished, idle);
        if let Some(r) = report {
            let key = names::producer_key(&self.cfg.queue, &self.cfg.producer_id);
            match self.kv_ctl.put(&key, r.encode_to_vec().into()).await {
                Ok(_) => *last_report = Instant::now(),
                Err(e) => {
                    // Without the report no spent token may be acked: keep holding those;
                    // unspent tokens can still go back.
                    log!("cannot write report {key}: {e}");
                    let (spent, unspent): (Vec<Held>, Vec<Held>) =
                        idle.into_iter().partition(|t| t.spent > 0);
                    let mut st = self.st.lock().unwrap();
                    st.held.append(&mut finished);
                    st.held.extend(spent);
                    idle = unspent;
                }
            }
        }
        let mut unacked = Vec::new();
        // All at once: one round trip per cycle, not one per token (a busy producer finishes
        // tokens faster than it could ack them one by one, and its spent tokens would pile up).
        let acks =
            futures_util::future::join_all(finished.iter().map(|t| t.msg.double_ack())).await;
        for (t, r) in finished.into_iter().zip(acks) {
            if let Err(e) = r {
                // Still stored: keep holding it and ack it at the next cycle.
                log!("ack of a spent token: {e}");
                unacked.push(t);
            }
        }
        for t in idle {
            if t.spent == 0 {
                if let Err(e) = t.msg.ack_with(AckKind::Nak(None)).await {
                    log!("return of an unspent token: {e}");
                }
            } else if let Err(e) = t.msg.double_ack().await {
                log!("ack of a partly spent token: {e}");
                unacked.push(t);
            } else {
                // Partly spent: acked after the report that excludes it; the unspent rest is a
                // deficit the reconciler mints. A producer never publishes tokens (§6.7 [v1.1]).
                self.event(ProducerEvent::Returned {
                    unspent: t.credits - t.spent,
                });
            }
        }
        if !unacked.is_empty() {
            self.st.lock().unwrap().held.extend(unacked);
        }
    }
}
