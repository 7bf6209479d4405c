//! The worker role (§5.2, §5.4, §7, §8, §9, §10): a minimal conforming worker.

use crate::adverts::AdvertsView;
use crate::backoff::Backoff;
use crate::breaker::{Breaker, BreakerConfig};
use crate::credits::Debt;
use crate::error::Error;
use crate::fleet::FleetView;
use crate::handler::Registry;
use crate::idempotency::ProcessedCache;
use crate::idstore::SharedStore;
use crate::jsutil;
use crate::outcome::{HandledType, Settings};
use crate::proto::WorkerState;
use crate::pushback::{Policy, Pushback};
use crate::ratelimit::RateBucket;
use crate::worker_api::WorkerEvent;
use crate::{log, names, PROTOCOL_VERSION};
use async_nats::jetstream::{self, consumer::PullConsumer, kv};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify, Semaphore};

mod ack;
mod advert;
mod circuit;
mod fence;
mod flow;
mod handle;
mod mint;
mod pull;
mod settle;

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
    pub backoff: Backoff,
    /// The delivery count past which a message is dead-lettered, before the grace NAKs are added.
    pub max_deliveries: u64,
    pub max_payload_bytes: usize,
    /// Ids the local idempotency cache holds at most.
    pub cache_size: usize,
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
    /// §9: records and checks processed ids in `sluice-processed`.
    pub shared_idempotency: bool,
    /// §5.2: the target wait and max capacity of a latency-target capacity.
    pub latency_target: Option<(Duration, u32)>,
    /// §7.6: the circuit breaker, None when off.
    pub breaker: Option<BreakerConfig>,
    /// §15.1: the AIMD rule of pushbacks, None when they never lower the capacity.
    pub pushback: Option<Policy>,
}

/// Receives every [`WorkerEvent`].
pub(crate) type Listener = Arc<dyn Fn(&WorkerEvent) + Send + Sync>;

impl WorkerConfig {
    pub(crate) fn settings(&self) -> Settings {
        // §7.2: max_deliveries − max_attempts ≥ ceil(grace / grace_delay).
        let grace_naks = self.grace_ms.div_ceil(self.grace_delay_ms.max(1));
        Settings {
            max_attempts: self.max_attempts,
            max_deliveries: self.max_deliveries.max(self.max_attempts + grace_naks),
            grace_ms: self.grace_ms,
            grace_delay_ms: self.grace_delay_ms,
            max_payload_bytes: self.max_payload_bytes,
            backoff: self.backoff,
            supported_protocol: PROTOCOL_VERSION,
        }
    }
}

#[derive(Default)]
pub(crate) struct Owed {
    /// Credits owed for finishes the server confirmed, not minted yet.
    pub(crate) owed: u64,
    pub(crate) in_transit: u64,
    /// Finishing acks sent plain and not yet confirmed (§5.4): the next double ack, on
    /// `last_finished`, confirms them all before their credits are minted.
    pub(crate) unconfirmed: u64,
    last_finished: Option<Arc<async_nats::jetstream::Message>>,
    since: Option<Instant>,
    /// Finishing acks sent plain and not under a confirmation in flight.
    uncovered: u64,
    uncovered_since: Option<Instant>,
}

impl Owed {
    /// The finishing acks not under a confirmation, to confirm with one double ack on the last
    /// of them: that delivery and how many they are (none when every finish is covered).
    fn take_uncovered(&mut self) -> Option<(Arc<async_nats::jetstream::Message>, u64)> {
        let last = self.last_finished.take()?;
        self.uncovered_since = None;
        Some((last, std::mem::take(&mut self.uncovered)))
    }
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
    /// Finishing acks queued and not yet sent (`ack.rs`).
    acks_queued: AtomicU64,
    acks: ack::Acks,
    /// Held by the ack task while it sends, and by an audit while it reads B (§5.5).
    ack_gate: tokio::sync::Mutex<()>,
    /// The receiving end of `acks`, taken when the worker starts.
    ack_queue: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<ack::Finish>>>,
    pub(crate) owed: Mutex<Owed>,
    /// Held while minting; the reconciler holds it to read `T` with the owed credits (§5.5).
    pub(crate) mint_gate: tokio::sync::Mutex<()>,
    mint_wake: Notify,
    confirm_wake: Notify,
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
    /// Why processed ids cannot be recorded; empty when they can (§9).
    store_problem: Mutex<String>,
    /// §9: the shared idempotency store, when enabled.
    store: Option<SharedStore>,
    /// §7.6: the circuit breaker, when enabled.
    breaker: Option<Mutex<Breaker>>,
    mint_seq: AtomicU64,
    /// §15.1: the AIMD limit lowered by pushbacks, and the handler gate.
    pushback: Pushback,
    /// §15.2: paces minting to this worker's share of the queue's rate.
    rate: Mutex<RateBucket>,
    /// §15.2: when the share was last computed, and the queue's max_worker_capacity.
    rate_meta: Mutex<(Instant, u32)>,
    started: Instant,
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
    let store = if cfg.shared_idempotency {
        Some(SharedStore::open(&js, &cfg.queue).await?)
    } else {
        None
    };
    let ack_wait = consumer.cached_info().config.ack_wait;
    let ack_wait = if ack_wait.is_zero() {
        Duration::from_secs(30)
    } else {
        ack_wait
    };

    let kv_cap_view = kv_cap.clone();
    let (acks, ack_queue) = tokio::sync::mpsc::unbounded_channel();
    let client_view = js.client();
    let w = Arc::new(Engine {
        settings: cfg.settings(),
        js,
        kv_cap,
        kv_ctl,
        debt: Mutex::new(Debt::default()),
        ack_wait,
        state: AtomicI32::new(WorkerState::Running as i32),
        in_flight: AtomicU32::new(0),
        acks_queued: AtomicU64::new(0),
        acks,
        ack_gate: tokio::sync::Mutex::new(()),
        ack_queue: Mutex::new(Some(ack_queue)),
        owed: Mutex::new(Owed::default()),
        mint_gate: tokio::sync::Mutex::new(()),
        mint_wake: Notify::new(),
        confirm_wake: Notify::new(),
        flushing: AtomicBool::new(false),
        completed_total: AtomicU64::new(0),
        minted_total: AtomicU64::new(0),
        processed_events: AtomicU64::new(0),
        worker_id: Arc::from(cfg.worker_id.as_str()),
        service_rate: Mutex::new((0.0, 0, Instant::now())),
        cache: Mutex::new(ProcessedCache::new(cfg.idempotency_window, cfg.cache_size)),
        handlers: Semaphore::new(cfg.concurrency.max(1)),
        shutting_down: AtomicBool::new(false),
        mint_nonce: jsutil::instance_nonce(),
        dlq_problem: Mutex::new(String::new()),
        store_problem: Mutex::new(String::new()),
        store,
        breaker: cfg.breaker.map(|b| Mutex::new(Breaker::new(b))),
        mint_seq: AtomicU64::new(0),
        pushback: cfg.pushback.map_or_else(Pushback::off, Pushback::new),
        rate: Mutex::new(RateBucket::default()),
        rate_meta: Mutex::new((Instant::now(), 0)),
        started: Instant::now(),
        fleet: FleetView::new(
            AdvertsView::new(client_view, kv_cap_view, cfg.queue.clone()),
            names::capacity_key(&cfg.queue, &cfg.worker_id),
        ),
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
    let fleet_watch = w.fleet.follow();
    let minter = tokio::spawn(w.clone().mint_loop());
    let acker = w
        .ack_queue
        .lock()
        .unwrap()
        .take()
        .map(|q| tokio::spawn(w.clone().ack_loop(q)));
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
    // A delivery's finishing ack is sent after it left `in_flight`, from the ack queue.
    while (w.in_flight.load(Ordering::SeqCst) > 0 || w.acks_queued.load(Ordering::SeqCst) > 0)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Mint what is owed.
    w.flushing.store(true, Ordering::SeqCst);
    w.mint_wake.notify_one();
    w.confirm_wake.notify_one();
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
    if let Some(a) = acker {
        a.abort();
    }
    fleet_watch.stop();
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
