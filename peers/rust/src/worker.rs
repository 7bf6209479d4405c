//! The worker role (§5.2, §5.4, §7, §8, §9, §10): a minimal conforming worker.

use crate::backoff::Backoff;
use crate::credits::{decompose, Debt};
use crate::dlq::{record_headers, reduce_record, RecordInfo};
use crate::error::{DeadLetterReason, Error};
use crate::fleet::FleetView;
use crate::handler::{MessageContext, Registry};
use crate::idempotency::{id_key, ProcessedCache};
use crate::jsutil::{self, header_map, header_pairs};
use crate::outcome::{
    after_handler, precheck, Delivery, Final, HandledType, HandlerResult, Precheck, Settings,
};
use crate::proto::{
    CapacityAdvert, CreditToken, HandledType as PbHandled, MintReason, ReconcilerLease, WorkerState,
};
use crate::pushback::{Policy, Pushback};
use crate::ratelimit::RateBucket;
use crate::worker_api::{NakReason, WorkerEvent};
use crate::{log, names, now_unix_ms, problem, trace, LANGUAGE, PROTOCOL_VERSION};
use async_nats::jetstream::{self, consumer::PullConsumer, kv, AckKind, Message};
use futures_util::StreamExt;
use prost::Message as _;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify, Semaphore};
use tracing::Instrument;

mod flow;

/// Everything a running worker needs; built and validated by `WorkerBuilder`.
pub(crate) struct WorkerConfig {
    pub queue: String,
    pub worker_id: String,
    pub concurrency: usize,
    pub prefetch: usize,
    pub handles: Vec<HandledType>,
    pub registry: Arc<Registry>,
    pub listener: Option<Listener>,
    pub max_attempts: u64,
    pub backoff_initial_ms: u64,
    pub grace_ms: u64,
    pub grace_delay_ms: u64,
    pub token_batch: u32,
    pub capacity: Option<u32>,
    pub heartbeat: Duration,
    pub advert_ttl_ms: u32,
    pub handler_timeout: Duration,
    pub shutdown_deadline: Duration,
    pub idempotency_window: Duration,
    /// The reconciler's audit interval, when this worker runs it (§5.5).
    pub reconciler: Option<Duration>,
}

/// Receives every [`WorkerEvent`].
pub(crate) type Listener = Arc<dyn Fn(&WorkerEvent) + Send + Sync>;

impl WorkerConfig {
    pub(crate) fn settings(&self) -> Settings {
        // §7.2: max_deliveries − max_attempts ≥ ceil(grace / grace_delay).
        let grace_naks = self.grace_ms.div_ceil(self.grace_delay_ms.max(1));
        Settings {
            max_attempts: self.max_attempts,
            max_deliveries: 10u64.max(self.max_attempts + grace_naks),
            grace_ms: self.grace_ms,
            grace_delay_ms: self.grace_delay_ms,
            max_payload_bytes: 1 << 20,
            backoff: Backoff {
                initial_ms: self.backoff_initial_ms as f64,
                ..Backoff::default()
            },
            supported_protocol: PROTOCOL_VERSION,
        }
    }
}

/// The lifetime of a pull request on `workers` (as in the Java worker).
const PULL_EXPIRY: Duration = Duration::from_secs(5);

/// Free slots not covered by a pull request, and outstanding requests.
struct PullSlots {
    st: Mutex<(usize, usize)>,
    wake: Notify,
}

impl PullSlots {
    fn release(&self, n: usize, request_ended: bool) {
        let mut st = self.st.lock().unwrap();
        st.0 += n;
        if request_ended {
            st.1 -= 1;
        }
        drop(st);
        self.wake.notify_one();
    }
}

#[derive(Default)]
pub(crate) struct Owed {
    pub(crate) owed: u64,
    pub(crate) in_transit: u64,
    since: Option<Instant>,
}

pub(crate) struct Engine {
    pub(crate) cfg: WorkerConfig,
    settings: Settings,
    pub(crate) js: jetstream::Context,
    pub(crate) kv_cap: kv::Store,
    /// None when the control bucket is missing: no debts then (§5.5).
    pub(crate) kv_ctl: Option<kv::Store>,
    pub(crate) debt: Mutex<Debt>,
    ack_wait: Duration,
    state: AtomicI32,
    in_flight: AtomicU32,
    pub(crate) owed: Mutex<Owed>,
    /// Held while minting; the reconciler holds it to read `T` with the owed credits (§5.5).
    pub(crate) mint_gate: tokio::sync::Mutex<()>,
    mint_wake: Notify,
    flushing: AtomicBool,
    completed_total: AtomicU64,
    minted_total: AtomicU64,
    processed_events: AtomicU64,
    worker_id: Arc<str>,
    service_rate: Mutex<(f64, u64, Instant)>,
    cache: Mutex<ProcessedCache>,
    handlers: Semaphore,
    shutting_down: AtomicBool,
    fleet: Arc<FleetView>,
    mint_nonce: String,
    /// Why dead-letter records cannot be written; empty when they can (§8.4).
    dlq_problem: Mutex<String>,
    mint_seq: AtomicU64,
    /// §15.1: the AIMD limit lowered by pushbacks, and the handler gate.
    pushback: Pushback,
    /// §15.2: paces minting to this worker's share of the queue's rate.
    rate: Mutex<RateBucket>,
    /// §15.2: when the share was last computed, and the queue's max_worker_capacity.
    rate_meta: Mutex<(Instant, u32)>,
    started: Instant,
}

/// How a handler run ended: a result, or a pushback with the handler's retry-after (§15.1).
enum Run {
    Done(HandlerResult),
    Overloaded(Option<Duration>),
}

/// Checks the topology and builds the engine (§2): nothing runs yet.
pub(crate) async fn prepare(
    client: async_nats::Client,
    cfg: WorkerConfig,
) -> Result<(Arc<Engine>, PullConsumer), Error> {
    let js = jetstream::new(client);
    let stream_name = names::work_stream(&cfg.queue);
    let mut stream = jsutil::require_stream(&js, &stream_name).await?;
    let consumer: PullConsumer =
        jsutil::require_pull_consumer(&mut stream, &stream_name, names::WORKER_CONSUMER).await?;
    jsutil::require_stream(&js, names::CREDIT_STREAM).await?;
    jsutil::require_stream(&js, names::DLQ_STREAM).await?;
    let kv_cap = jsutil::require_kv(&js, names::CAPACITY_BUCKET).await?;
    let kv_ctl = js.get_key_value(names::CONTROL_BUCKET).await.ok();
    let ack_wait = consumer.cached_info().config.ack_wait;
    let ack_wait = if ack_wait.is_zero() {
        Duration::from_secs(30)
    } else {
        ack_wait
    };

    let w = Arc::new(Engine {
        settings: cfg.settings(),
        js,
        kv_cap,
        kv_ctl,
        debt: Mutex::new(Debt::default()),
        ack_wait,
        state: AtomicI32::new(WorkerState::Running as i32),
        in_flight: AtomicU32::new(0),
        owed: Mutex::new(Owed::default()),
        mint_gate: tokio::sync::Mutex::new(()),
        mint_wake: Notify::new(),
        flushing: AtomicBool::new(false),
        completed_total: AtomicU64::new(0),
        minted_total: AtomicU64::new(0),
        processed_events: AtomicU64::new(0),
        worker_id: Arc::from(cfg.worker_id.as_str()),
        service_rate: Mutex::new((0.0, 0, Instant::now())),
        cache: Mutex::new(ProcessedCache::new(cfg.idempotency_window, 100_000)),
        handlers: Semaphore::new(cfg.concurrency.max(1)),
        shutting_down: AtomicBool::new(false),
        mint_nonce: jsutil::instance_nonce(),
        dlq_problem: Mutex::new(String::new()),
        mint_seq: AtomicU64::new(0),
        pushback: Pushback::new(Policy::default()),
        rate: Mutex::new(RateBucket::default()),
        rate_meta: Mutex::new((Instant::now(), 0)),
        started: Instant::now(),
        fleet: FleetView::new(names::capacity_key(&cfg.queue, &cfg.worker_id)),
        cfg,
    });
    Ok((w, consumer))
}

/// Runs the worker until `shutdown` completes, then drains (§7.6): stops pulling, lets in-flight
/// handlers finish, mints what is owed, writes DRAINING and deletes its advert. Returns the number
/// of messages it processed.
pub(crate) async fn run(
    w: Arc<Engine>,
    consumer: PullConsumer,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<u64, Error> {
    w.refresh_rate().await; // §15.2
    w.write_advert().await?;
    w.event(WorkerEvent::Ready);

    let (stop_tx, stop_rx) = watch::channel(false);
    let heartbeat = tokio::spawn(w.clone().heartbeat_loop(stop_rx.clone()));
    let fleet_watch = tokio::spawn(w.fleet.clone().watch(w.kv_cap.clone(), w.cfg.queue.clone()));
    let minter = tokio::spawn(w.clone().mint_loop());
    let pushback_ticks = tokio::spawn(w.clone().pushback_ticks()); // §15.1
    let puller = tokio::spawn(w.clone().pull_loop(consumer, stop_rx.clone()));
    let reconciler = w
        .cfg
        .reconciler
        .map(|every| tokio::spawn(crate::reconciler::run(w.clone(), every, stop_rx.clone())));

    shutdown.await;
    tracing::info!(target: "sluice", worker = %w.cfg.worker_id, "shutting down");
    w.shutting_down.store(true, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    if let Some(r) = reconciler {
        let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
    }
    // Stop pulling: the current pull request ends at its expiry.
    let _ = tokio::time::timeout(Duration::from_secs(5), puller).await;
    // Let in-flight handlers finish until the deadline; queued ones NAK themselves.
    let deadline = Instant::now() + w.cfg.shutdown_deadline;
    while w.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Mint what is owed.
    w.flushing.store(true, Ordering::SeqCst);
    w.mint_wake.notify_one();
    if tokio::time::timeout(Duration::from_secs(10), minter)
        .await
        .is_err()
    {
        log!(
            "worker {}: owed credits could not all be minted before exit",
            w.cfg.worker_id
        );
    }
    heartbeat.abort();
    fleet_watch.abort();
    pushback_ticks.abort();
    // Wait until the heartbeat task is gone: a heartbeat still in flight could otherwise write a
    // RUNNING advert after the DRAINING one and the delete below, leaving a stale advert behind.
    let _ = heartbeat.await;
    w.state
        .store(WorkerState::Draining as i32, Ordering::SeqCst);
    if let Err(e) = w.write_advert().await {
        log!("{e}");
    }
    let key = names::capacity_key(&w.cfg.queue, &w.cfg.worker_id);
    if let Err(e) = w.kv_cap.delete(&key).await {
        log!("cannot delete advert {key}: {e}");
    }
    let _ = w.js.client().flush().await;
    let processed = w.processed_events.load(Ordering::SeqCst);
    w.event(WorkerEvent::Stopped { processed });
    Ok(processed)
}

impl Engine {
    fn event(&self, e: WorkerEvent) {
        if let Some(l) = &self.cfg.listener {
            l(&e);
        }
    }

    fn capacity(&self) -> u32 {
        self.cfg
            .capacity
            .unwrap_or((self.cfg.concurrency + self.cfg.prefetch) as u32)
    }

    pub(crate) fn advert(&self) -> CapacityAdvert {
        let state = self.state.load(Ordering::SeqCst);
        let (debt, debt_seen) = self.debt.lock().unwrap().state();
        let owed = self.owed.lock().unwrap();
        let running = state == WorkerState::Running as i32;
        let (lowered, pushbacks, decreases, lowered_since) = self.pushback.advert(self.capacity());
        CapacityAdvert {
            worker_id: self.cfg.worker_id.clone(),
            queue: self.cfg.queue.clone(),
            protocol_version: PROTOCOL_VERSION,
            // §15.1: the capacity lowered by pushback, the configured one beside it.
            capacity: if running { lowered } else { 0 },
            nominal_capacity: if running { self.capacity() } else { 0 },
            pushbacks_total: pushbacks,
            pushback_decreases_total: decreases,
            lowered_since_unix_ms: lowered_since,
            // §15.2: mints within its share of the queue's rate.
            rate_limited: true,
            rate_share: self.rate.lock().unwrap().share(),
            in_flight: self.in_flight.load(Ordering::SeqCst),
            service_rate: self.service_rate.lock().unwrap().0,
            handled: self
                .cfg
                .handles
                .iter()
                .map(|h| PbHandled {
                    r#type: h.type_name.clone(),
                    min_version: h.min_version,
                    max_version: h.max_version,
                })
                .collect(),
            heartbeat_unix_ms: now_unix_ms(),
            ttl_ms: self.cfg.advert_ttl_ms,
            state,
            owed_credits: (owed.owed + owed.in_transit) as u32,
            language: LANGUAGE.into(),
            completed_total: self.completed_total.load(Ordering::SeqCst),
            minted_total: self.minted_total.load(Ordering::SeqCst),
            token_batch: self.cfg.token_batch,
            debt,
            debt_seen,
            absorbs_debt: self.kv_ctl.is_some(),
            // Why it reports itself failing (§5.2): informational, nothing reads it for credits.
            problem: problem::line(problem::DLQ_UNWRITABLE, &self.dlq_problem.lock().unwrap()),
        }
    }

    pub(crate) async fn write_advert(&self) -> Result<(), Error> {
        let key = names::capacity_key(&self.cfg.queue, &self.cfg.worker_id);
        self.kv_cap
            .put(&key, self.advert().encode_to_vec().into())
            .await
            .map(|_| ())
            .map_err(|e| {
                Error::Nats(format!(
                    "cannot write advert {}/{key}: {e}",
                    names::CAPACITY_BUCKET
                ))
            })
    }

    /// Updates the exponentially weighted completion rate.
    fn update_rate(&self) {
        let mut r = self.service_rate.lock().unwrap();
        let completed = self.completed_total.load(Ordering::SeqCst);
        let elapsed = r.2.elapsed().as_secs_f64();
        if elapsed <= 0.0 {
            return;
        }
        r.0 = crate::credits::service_rate(r.0, completed - r.1, elapsed);
        r.1 = completed;
        r.2 = Instant::now();
    }

    async fn heartbeat_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.cfg.heartbeat);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => {}
            }
            self.update_rate();
            self.read_lease().await;
            self.refresh_rate().await; // §15.2
            if let Err(e) = self.write_advert().await {
                log!("{e}");
            }
        }
    }

    /// Learns this worker's share of the reconciler's newest debt announcement (§5.5).
    async fn read_lease(&self) {
        let Some(kv) = &self.kv_ctl else { return };
        let lease = match kv.get(names::reconciler_key(&self.cfg.queue)).await {
            Ok(Some(b)) => match ReconcilerLease::decode(b.as_ref()) {
                Ok(l) => l,
                Err(_) => return,
            },
            Ok(None) => ReconcilerLease::default(),
            Err(_) => return,
        };
        self.debt.lock().unwrap().offer(&lease, &self.cfg.worker_id);
    }

    /// `floor(clamp(b' / service_rate × 1000, 2, 20))` ms, 20 ms with no rate yet (§5.4).
    fn linger(&self) -> Duration {
        let rate = self.service_rate.lock().unwrap().0;
        Duration::from_millis(crate::credits::linger_ms(self.cfg.token_batch, rate))
    }

    /// Owes credits for finished deliveries; called only after the finishing ack was confirmed.
    fn owe(&self, n: u64) {
        let mut o = self.owed.lock().unwrap();
        if o.owed == 0 {
            o.since = Some(Instant::now());
        }
        o.owed += n;
        drop(o);
        self.completed_total.fetch_add(n, Ordering::SeqCst);
        self.mint_wake.notify_one();
    }

    /// Mints owed credits with carry and linger until flushed empty at shutdown.
    async fn mint_loop(self: Arc<Self>) {
        let b = self.cfg.token_batch as u64;
        loop {
            // Held from taking owed credits until their tokens are stored, so the reconciler
            // reads `T` and the owed credits at a moment when nothing is in between (§5.5 v1.2).
            let gate = self.mint_gate.lock().await;
            let flushing = self.flushing.load(Ordering::SeqCst);
            let (tokens, wait) = {
                let mut o = self.owed.lock().unwrap();
                let linger = self.linger();
                let mut tokens = Vec::new();
                if o.owed >= b {
                    let n = o.owed / b;
                    tokens = vec![b as u32; n as usize];
                    o.owed -= n * b;
                }
                let lingered = o.since.map(|s| s.elapsed() >= linger).unwrap_or(false);
                if o.owed > 0 && (flushing || lingered) {
                    tokens.extend(decompose(o.owed, b as u32));
                    o.owed = 0;
                }
                // §5.5: credits withheld for the reconciler's debt are never minted.
                let total: u64 = tokens.iter().map(|t| *t as u64).sum();
                let burn = self.debt.lock().unwrap().withhold(total);
                if burn > 0 {
                    tokens = decompose(total - burn, b as u32);
                }
                // §15.2: what the rate does not allow yet stays owed for the next linger round.
                let due = total - burn;
                let allowed = if flushing {
                    due
                } else {
                    self.paced(due, due + o.owed)
                };
                if allowed < due {
                    tokens = decompose(allowed, b as u32);
                    o.owed += due - allowed;
                    o.since = Some(Instant::now());
                }
                o.in_transit += tokens.iter().map(|t| *t as u64).sum::<u64>();
                if o.owed == 0 {
                    o.since = None;
                }
                let wait = match o.since {
                    Some(s) => linger
                        .saturating_sub(s.elapsed())
                        .max(Duration::from_millis(1)),
                    None => Duration::from_secs(1),
                };
                (tokens, wait)
            };
            if tokens.is_empty() {
                if flushing && self.owed.lock().unwrap().owed == 0 {
                    return;
                }
                drop(gate);
                let _ = tokio::time::timeout(wait, self.mint_wake.notified()).await;
                continue;
            }
            for n in tokens {
                let ok = self.mint_token(n, MintReason::Replenish).await;
                let mut o = self.owed.lock().unwrap();
                o.in_transit -= n as u64;
                if ok {
                    self.minted_total.fetch_add(n as u64, Ordering::SeqCst);
                } else {
                    if o.owed == 0 {
                        o.since = Some(Instant::now());
                    }
                    o.owed += n as u64;
                }
            }
        }
    }

    pub(crate) async fn mint_token(&self, n: u32, reason: MintReason) -> bool {
        let body = CreditToken {
            credits: n,
            minted_by: self.cfg.worker_id.clone(),
            minted_unix_ms: now_unix_ms(),
            reason: reason as i32,
        };
        let id = crate::credits::token_id(
            &self.cfg.worker_id,
            &self.mint_nonce,
            self.mint_seq.fetch_add(1, Ordering::SeqCst) + 1,
        );
        let subject = names::credit_subject(&self.cfg.queue, n);
        jsutil::publish_token(&self.js, subject, body.encode_to_vec().into(), id, 10).await
    }

    /// Pulls with at most `concurrency + prefetch` messages in hand (§7.1). Like the Java
    /// worker: a request for every free slot not covered by an outstanding request, issued when
    /// none is outstanding or once at least `max(1, prefetch / 2)` slots are uncovered; each
    /// request lives `PULL_EXPIRY` (the server hands each message to the oldest waiting request,
    /// so a peer re-issuing short requests would keep landing at the back of the queue) and is
    /// replaced as soon as it ends. The batch's own timer (expiry + a margin) notices a request
    /// the server dropped, so no idle heartbeats are needed.
    async fn pull_loop(self: Arc<Self>, consumer: PullConsumer, stop: watch::Receiver<bool>) {
        let limit = self.cfg.concurrency + self.cfg.prefetch;
        let pulls = Arc::new(PullSlots {
            st: Mutex::new((limit, 0)),
            wake: Notify::new(),
        });
        let consumer = Arc::new(consumer);
        let mut tasks = Vec::new();
        loop {
            if *stop.borrow() {
                break;
            }
            let n = {
                let mut st = pulls.st.lock().unwrap();
                let threshold = if st.1 > 0 {
                    (self.cfg.prefetch / 2).max(1)
                } else {
                    1
                };
                // §15.1: in hand at most the lowered capacity.
                let avail = self.pushback.limit(self.capacity()).map_or(st.0, |l| {
                    st.0.min((l as usize).saturating_sub(limit - st.0))
                });
                if avail > 0 && avail >= threshold {
                    let n = avail;
                    st.0 -= avail;
                    st.1 += 1;
                    n
                } else {
                    0
                }
            };
            if n == 0 {
                let mut stop = stop.clone();
                tokio::select! {
                    _ = pulls.wake.notified() => {}
                    _ = stop.changed() => {}
                    // §15.1: a lowered limit changes on the tick, without a wake.
                    _ = tokio::time::sleep(self.pull_poll()) => {}
                }
                continue;
            }
            tasks.retain(|t: &tokio::task::JoinHandle<()>| !t.is_finished());
            tasks.push(tokio::spawn(self.clone().fetch(
                consumer.clone(),
                n,
                pulls.clone(),
                stop.clone(),
            )));
        }
        for t in tasks {
            let _ = t.await;
        }
    }

    /// One pull request for `n` messages; each goes to its own task and frees its slot when it
    /// leaves the worker's hands. Shutdown drops the request's subscription at once.
    async fn fetch(
        self: Arc<Self>,
        consumer: Arc<PullConsumer>,
        n: usize,
        pulls: Arc<PullSlots>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut got = 0;
        match consumer
            .batch()
            .max_messages(n)
            .expires(PULL_EXPIRY)
            .messages()
            .await
        {
            Ok(mut batch) => loop {
                let next = tokio::select! {
                    m = batch.next() => m,
                    _ = stop.changed() => None,
                };
                match next {
                    Some(Ok(msg)) => {
                        got += 1;
                        let w = self.clone();
                        let pulls = pulls.clone();
                        w.in_flight.fetch_add(1, Ordering::SeqCst);
                        tokio::spawn(async move {
                            w.handle(msg).await;
                            w.in_flight.fetch_sub(1, Ordering::SeqCst);
                            pulls.release(1, false);
                        });
                    }
                    Some(Err(e)) => {
                        log!("pull: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        break;
                    }
                    None => break,
                }
            },
            Err(e) => {
                log!("pull from {}: {e}", names::WORKER_CONSUMER);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        pulls.release(n - got, true);
    }

    async fn nak(&self, msg: &Message, delay: Duration) -> bool {
        match msg.ack_with(AckKind::Nak(Some(delay))).await {
            Ok(()) => true,
            Err(e) => {
                log!("nak: {e}");
                false
            }
        }
    }

    /// §7.2 for one delivery.
    async fn handle(&self, msg: Message) {
        let msg = Arc::new(msg);
        let info = match msg.info() {
            Ok(i) => (i.delivered.max(1) as u64, i.stream_sequence, i.published),
            Err(e) => {
                log!("delivery without JetStream metadata: {e}");
                return;
            }
        };
        let (k, stream_seq, published) = info;
        let published_ms = (published.unix_timestamp_nanos() / 1_000_000) as i64;
        let age_ms = now_unix_ms() - published_ms;
        let headers = msg.headers.clone();
        let get = |name: &str| {
            headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(|v| v.as_str())
        };
        let msg_id = get(crate::headers::MSG_ID).map(str::to_string);
        if self.shutting_down.load(Ordering::SeqCst) {
            self.nak(&msg, Duration::ZERO).await;
            return;
        }
        let pre = precheck(
            &self.settings,
            &self.cfg.handles,
            get,
            Delivery {
                payload_len: msg.payload.len(),
                delivery_count: k,
                age_ms,
            },
            |id| self.cache.lock().unwrap().contains(&id_key(id)),
            self.fleet.as_ref(),
        );
        let valid = match pre {
            Precheck::DeadLetter { reason, error } => {
                return self
                    .dead_letter(&msg, stream_seq, k, msg_id.as_deref(), reason, &error)
                    .await;
            }
            Precheck::Duplicate => {
                if msg.double_ack().await.is_ok() {
                    self.owe(1);
                    log!(
                        "duplicate {} acked without running the handler",
                        msg_id.unwrap_or_default()
                    );
                }
                return;
            }
            Precheck::NakNotHandled { delay_ms, reason } => {
                if self
                    .nak(&msg, crate::backoff::nak_delay(delay_ms as f64))
                    .await
                {
                    log!(
                        "not handled here ({reason}): {}",
                        msg_id.clone().unwrap_or_default()
                    );
                    self.event(WorkerEvent::Nak {
                        msg_id: msg_id.clone(),
                        attempt: k,
                        delay: Duration::from_millis(delay_ms),
                        reason: NakReason::NotHandled,
                    });
                }
                return;
            }
            Precheck::Proceed(v) => v,
        };
        // Step 6: decode (and upcast) the payload.
        let mut bound = match self
            .cfg
            .registry
            .bind(&valid.type_name, valid.version, &msg.payload)
        {
            Ok(b) => Some(b),
            Err(e) => {
                return self
                    .dead_letter(&msg, stream_seq, k, msg_id.as_deref(), "decode-error", &e)
                    .await
            }
        };
        let tp = trace::continue_trace(get(crate::headers::TRACEPARENT));
        let span = tracing::info_span!(
            target: "sluice",
            "sluice.handle",
            queue = %self.cfg.queue,
            msg_id = %valid.msg_id,
            r#type = %valid.type_name,
            version = valid.version,
            attempt = k,
            trace_id = %tp.trace_id,
            span_id = %tp.parent_id,
        );
        let ctx_template = MessageContext {
            msg_id: valid.msg_id.clone(),
            type_name: valid.type_name.clone(),
            version: valid.version,
            attempt: k,
            stream_sequence: stream_seq,
            trace: tp.clone(),
            worker_id: self.worker_id.clone(),
            message: Some(msg.clone()),
        };
        // §15.1: a pushback holds the delivery (no NAK, no attempt) and runs the handler again.
        let mut pushbacks = 0u64;
        let result = loop {
            let slot = self.handlers.acquire().await.expect("semaphore open");
            if self.shutting_down.load(Ordering::SeqCst) {
                self.nak(&msg, Duration::ZERO).await;
                return;
            }
            let b = match bound.take() {
                Some(b) => b,
                None => match self
                    .cfg
                    .registry
                    .bind(&valid.type_name, valid.version, &msg.payload)
                {
                    Ok(b) => b,
                    Err(e) => {
                        drop(slot);
                        return self
                            .dead_letter(&msg, stream_seq, k, msg_id.as_deref(), "decode-error", &e)
                            .await;
                    }
                },
            };
            self.enter_gate().await;
            let run = self
                .run_handler(&msg, self.cfg.registry.run(b, ctx_template.clone()))
                .instrument(span.clone())
                .await;
            self.pushback.exit();
            // The slot is for running handlers: the finishing ack (a round trip for a double
            // ack) goes on while the next handler runs; the delivery still counts against the
            // pull limit.
            drop(slot);
            match run {
                Run::Done(r) => break r,
                Run::Overloaded(retry_after) => {
                    pushbacks += 1;
                    let delay =
                        retry_after.unwrap_or_else(|| self.settings.backoff.delay(pushbacks));
                    self.pushback.pushed(self.capacity(), now_unix_ms());
                    self.event(WorkerEvent::PushedBack {
                        msg_id: valid.msg_id.clone(),
                        pushbacks,
                        retry_in: delay,
                    });
                    if let Some(rest) = self.hold_for_retry(&msg, delay).await {
                        // §7.6: shutdown NAKs a held message at once with the rest of its delay.
                        self.nak(&msg, rest).await;
                        return;
                    }
                }
            }
        };
        match after_handler(&self.settings, k, &result) {
            Final::Ack => {
                self.cache.lock().unwrap().insert(&id_key(&valid.msg_id));
                match msg.double_ack().await {
                    Ok(()) => {
                        self.owe(1);
                        self.processed_events.fetch_add(1, Ordering::SeqCst);
                        self.event(WorkerEvent::Processed {
                            msg_id: valid.msg_id.clone(),
                            attempt: k,
                            trace_id: tp.trace_id.clone(),
                            type_name: valid.type_name.clone(),
                            version: valid.version,
                        });
                    }
                    Err(e) => log!("ack of {} not confirmed: {e}", valid.msg_id),
                }
            }
            Final::DeadLetter { reason, error } => {
                self.dead_letter(&msg, stream_seq, k, Some(&valid.msg_id), reason, &error)
                    .await
            }
            Final::NakRetry => {
                let delay = self.settings.backoff.delay(k);
                if self.nak(&msg, delay).await {
                    self.event(WorkerEvent::Nak {
                        msg_id: Some(valid.msg_id.clone()),
                        attempt: k,
                        delay,
                        reason: NakReason::Retry,
                    });
                }
            }
        }
    }

    /// Runs a handler with a timeout and +WPI every ack wait / 3 (§7.1).
    async fn run_handler(
        &self,
        msg: &Message,
        body: futures_util::future::BoxFuture<'static, crate::handler::HandlerResult>,
    ) -> Run {
        let body = async {
            // A panicking handler fails this attempt (retried, then dead-lettered) instead of
            // taking its delivery slot with it.
            let body = std::panic::AssertUnwindSafe(body);
            Run::Done(match futures_util::FutureExt::catch_unwind(body).await {
                Err(_) => HandlerResult::Fail("the handler panicked".into()),
                Ok(Ok(())) => HandlerResult::Success,
                Ok(Err(crate::handler::HandlerError::Reject(r))) => HandlerResult::Reject(r),
                Ok(Err(crate::handler::HandlerError::Retry(r))) => HandlerResult::Fail(r),
                Ok(Err(crate::handler::HandlerError::Overloaded { retry_after })) => {
                    return Run::Overloaded(retry_after)
                }
            })
        };
        let progress_every = self.ack_wait / 3;
        let mut progress =
            tokio::time::interval_at(tokio::time::Instant::now() + progress_every, progress_every);
        let deadline = tokio::time::sleep(self.cfg.handler_timeout);
        tokio::pin!(body, deadline);
        loop {
            tokio::select! {
                r = &mut body => return r,
                _ = &mut deadline => return Run::Done(HandlerResult::Fail(format!("handler timed out after {:?}", self.cfg.handler_timeout))),
                _ = progress.tick() => {
                    if let Err(e) = msg.ack_with(AckKind::Progress).await {
                        log!("+WPI: {e}");
                    }
                }
            }
        }
    }

    /// Publishes the record, awaits its PubAck, then terms the message (§8.2).
    /// Reports a change of the dead-letter problem (§8.4): `failing` with the reason, or `ok`
    /// when `why` is empty.
    fn dlq_health(&self, why: &str) {
        {
            let mut p = self.dlq_problem.lock().unwrap();
            if *p == why {
                return;
            }
            *p = why.to_string();
        }
        self.event(WorkerEvent::Health {
            problem: (!why.is_empty()).then(|| why.to_string()),
        });
    }

    async fn dead_letter(
        &self,
        msg: &Message,
        stream_seq: u64,
        k: u64,
        msg_id: Option<&str>,
        reason: &str,
        error: &str,
    ) {
        let stream = names::work_stream(&self.cfg.queue);
        let info = RecordInfo {
            stream: &stream,
            stream_seq,
            subject: msg.subject.as_str(),
            delivery_count: k,
            worker_id: &self.cfg.worker_id,
            at_unix_ms: now_unix_ms(),
            reason,
            error,
        };
        let record = record_headers(&header_pairs(msg.headers.as_ref()), &info);
        // A record over the server's limits would be refused on every attempt: cut it (§8.4).
        let max_payload = self.js.client().server_info().max_payload as u64;
        let fitted = match reduce_record(&record, &msg.payload, max_payload) {
            Ok(f) => f,
            Err(e) => {
                log!("dead-letter record for seq {stream_seq} cannot be written ({e})");
                self.nak(msg, Duration::from_secs(2)).await;
                return;
            }
        };
        let published = match self
            .js
            .publish_with_headers(
                names::dlq_subject(&self.cfg.queue),
                header_map(&fitted.headers),
                fitted.payload.into(),
            )
            .await
        {
            Ok(f) => f.await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = published {
            log!("dead-letter record for seq {stream_seq} not stored ({e}); retrying later");
            self.dlq_health(&format!(
                "dead-letter records cannot be written to SLUICE_DLQ ({e}): check that the stream \
                 exists and that this worker may publish to {}",
                names::dlq_subject(&self.cfg.queue)
            ));
            self.nak(msg, Duration::from_secs(1)).await;
            return;
        }
        self.dlq_health("");
        match msg.double_ack_with(AckKind::Term).await {
            Ok(()) => {
                self.owe(1);
                self.event(WorkerEvent::DeadLettered {
                    msg_id: msg_id.map(str::to_string),
                    reason: DeadLetterReason::from_code(reason)
                        .unwrap_or(DeadLetterReason::Rejected),
                    attempt: k,
                });
            }
            Err(e) => log!("+TERM of seq {stream_seq} not confirmed: {e}"),
        }
    }
}
