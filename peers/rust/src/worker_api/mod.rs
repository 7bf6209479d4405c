//! The public worker: [`Worker::builder`], typed handlers, and what a running worker reports.

use crate::backoff::Backoff;
use crate::breaker::BreakerConfig;
use crate::codec::Codec;
use crate::credits::effective_batch;
use crate::error::{CodecError, Error, Result};
use crate::handler::{
    HandlerResult, MessageContext, Middleware, Registry, DEFAULT_HANDLER_TIMEOUT,
};
use crate::worker::{self, Engine, WorkerConfig};
pub use crate::worker_event::{NakReason, WorkerEvent};
pub use pushback_policy::PushbackPolicy;

mod options;
mod pushback_policy;
use async_nats::jetstream::consumer::PullConsumer;
use std::future::Future;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

/// Configures a [`Worker`]. Options are checked by [`WorkerBuilder::build`], which also checks
/// that the queue is provisioned.
///
/// ```
/// # async fn demo(client: async_nats::Client) -> Result<(), sluice::Error> {
/// use sluice::{HandlerError, Json, Worker};
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Email { to: String }
///
/// let worker = Worker::builder(client, "emails")
///     .worker_id("mailer-1")
///     .concurrency(8)
///     .handle("acme.Email", 1..=1, Json::<Email>::new(), |email: Email, _ctx| async move {
///         if email.to.is_empty() {
///             return Err(HandlerError::reject("no recipient"));
///         }
///         Ok(())
///     })
///     .build()
///     .await?;
/// worker.run_until(async { let _ = tokio::signal::ctrl_c().await; }).await?;
/// # Ok(()) }
/// ```
pub struct WorkerBuilder {
    client: async_nats::Client,
    queue: String,
    worker_id: Option<String>,
    concurrency: usize,
    prefetch: usize,
    capacity: Option<u32>,
    max_attempts: u64,
    backoff: Backoff,
    max_deliveries: u64,
    max_payload_bytes: usize,
    cache_size: usize,
    grace: Duration,
    grace_delay: Duration,
    token_batch: u32,
    heartbeat: Duration,
    handler_timeout: Duration,
    shutdown_deadline: Duration,
    idempotency_window: Duration,
    reconciler: Option<Duration>,
    shared_idempotency: bool,
    latency_target: Option<(Duration, u32)>,
    breaker: Option<BreakerConfig>,
    pushback: Option<PushbackPolicy>,
    registry: Registry,
    listener: Option<worker::Listener>,
    errors: Vec<Error>,
}

impl WorkerBuilder {
    /// Registers the handler of payload type `type_name`, schema `versions`, decoded by `codec`.
    /// A message of an older version in the range goes through the upcasters registered with
    /// [`WorkerBuilder::upcast`] up to the newest version before the handler sees it.
    pub fn handle<T, C, F, Fut>(
        mut self,
        type_name: &str,
        versions: RangeInclusive<u32>,
        codec: C,
        handler: F,
    ) -> Self
    where
        T: Send + 'static,
        C: Codec<T>,
        F: Fn(T, MessageContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        if type_name.is_empty() || type_name.len() > 200 {
            self.errors.push(Error::invalid(
                "handle",
                format!("type {type_name:?} must be 1 to 200 characters"),
            ));
        } else if *versions.start() == 0 || versions.start() > versions.end() {
            self.errors.push(Error::invalid(
                "handle",
                format!(
                    "versions {}..={} of {type_name}: a non-empty range from 1",
                    versions.start(),
                    versions.end()
                ),
            ));
        } else if self.registry.types.contains_key(type_name) {
            self.errors.push(Error::invalid(
                "handle",
                format!("{type_name} has two handlers; register one per type"),
            ));
        }
        self.registry.add(type_name, versions, codec, handler);
        self
    }

    /// Registers an upcaster of `type_name` from version `from` to `from + 1`: it turns a value
    /// decoded from an older version into the newer shape (for example filling a field the older
    /// schema lacked). An `Err` dead-letters the message as `decode-error`.
    pub fn upcast<T, F>(self, type_name: &str, from: u32, f: F) -> Self
    where
        T: Send + 'static,
        F: Fn(T) -> std::result::Result<T, CodecError> + Send + Sync + 'static,
    {
        self.registry
            .upcasters
            .lock()
            .unwrap()
            .insert((type_name.to_string(), from), Registry::erase_upcaster(f));
        self
    }

    /// Adds a middleware around every handler call; the first added runs outermost.
    pub fn middleware(mut self, m: impl Middleware) -> Self {
        self.registry.middleware.push(Arc::new(m));
        self
    }

    /// Calls `f` with every [`WorkerEvent`].
    pub fn on_event(mut self, f: impl Fn(&WorkerEvent) + Send + Sync + 'static) -> Self {
        self.listener = Some(Arc::new(f));
        self
    }

    /// Checks the options, then that the queue is provisioned (§2). Nothing runs until
    /// [`Worker::run_until`].
    ///
    /// A worker with no handler, or with options out of range, is refused before anything is
    /// read from the server:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let client = async_nats::ConnectOptions::new().retry_on_initial_connect()
    /// #     .connect("127.0.0.1:1").await.unwrap();
    /// use sluice::{Error, Json, Worker};
    /// let err = Worker::builder(client.clone(), "orders").build().await.err().unwrap();
    /// assert!(matches!(err, Error::InvalidOption { option: "handle", .. }));
    ///
    /// let err = Worker::builder(client, "orders")
    ///     .handle("acme.Order", 1..=1, Json::<String>::new(), |_s: String, _| async { Ok(()) })
    ///     .token_batch(3)
    ///     .build()
    ///     .await
    ///     .err()
    ///     .unwrap();
    /// assert_eq!(err.to_string(), "invalid option token_batch: 3 is not a power of two up to 2^20");
    /// # }
    /// ```
    pub async fn build(mut self) -> Result<Worker> {
        if let Some(e) = self.errors.into_iter().next() {
            return Err(e);
        }
        if self.registry.types.is_empty() {
            return Err(Error::invalid(
                "handle",
                "the worker has no handler: register one with .handle(type, versions, codec, handler)",
            ));
        }
        if !crate::names::valid_queue(&self.queue) {
            return Err(Error::invalid(
                "queue",
                format!(
                    "{:?} is not a valid queue name ([a-z0-9_-], 1 to 64)",
                    self.queue
                ),
            ));
        }
        let worker_id = self
            .worker_id
            .unwrap_or_else(|| format!("rust-{}", crate::jsutil::instance_nonce()));
        if !crate::names::valid_id(&worker_id) {
            return Err(Error::invalid(
                "worker_id",
                format!("{worker_id:?} is not in the id charset [A-Za-z0-9_-], 1 to 64"),
            ));
        }
        if self.concurrency == 0 {
            return Err(Error::invalid("concurrency", "must be at least 1"));
        }
        if !self.token_batch.is_power_of_two() || self.token_batch > 1 << 20 {
            return Err(Error::invalid(
                "token_batch",
                format!("{} is not a power of two up to 2^20", self.token_batch),
            ));
        }
        if self.max_attempts == 0 {
            return Err(Error::invalid("max_attempts", "must be at least 1"));
        }
        if self
            .reconciler
            .is_some_and(|d| d < Duration::from_millis(100))
        {
            return Err(Error::invalid(
                "reconciler",
                "the audit interval must be at least 100 ms",
            ));
        }
        if let Some(b) = self.breaker {
            if b.failures == 0 || b.window < b.failures {
                return Err(Error::invalid(
                    "circuit_breaker",
                    format!(
                        "need 1 ≤ failures ≤ window, got {} of {}",
                        b.failures, b.window
                    ),
                ));
            }
            if b.delay.is_zero() {
                return Err(Error::invalid(
                    "circuit_breaker",
                    "the delay must be positive",
                ));
            }
        }
        if let Some((wait, max_capacity)) = self.latency_target {
            if self.capacity.is_some() {
                return Err(Error::invalid(
                    "latency_target",
                    "a latency target and a fixed capacity exclude each other: choose one",
                ));
            }
            if wait.is_zero() || max_capacity == 0 {
                return Err(Error::invalid(
                    "latency_target",
                    "the wait must be positive and the max capacity at least 1",
                ));
            }
        }
        let b = self.backoff;
        if !(b.multiplier >= 1.0
            && b.max_delay_ms >= b.initial_ms
            && (0.0..=1.0).contains(&b.jitter))
        {
            return Err(Error::invalid(
                "backoff",
                format!(
                    "need multiplier ≥ 1, max delay ≥ initial and jitter in [0, 1], got ×{}, \
                     {} ms ≥ {} ms, jitter {}",
                    b.multiplier, b.max_delay_ms, b.initial_ms, b.jitter
                ),
            ));
        }
        if self.max_deliveries == 0 {
            return Err(Error::invalid("max_deliveries", "must be at least 1"));
        }
        if self.max_payload_bytes == 0 {
            return Err(Error::invalid("max_payload_bytes", "must be at least 1"));
        }
        if self.cache_size == 0 || self.idempotency_window.is_zero() {
            return Err(Error::invalid(
                "idempotency_cache",
                "the size must be at least 1 and the window positive",
            ));
        }
        if self.heartbeat < Duration::from_millis(10) {
            return Err(Error::invalid("heartbeat", "must be at least 10 ms"));
        }
        if self.grace_delay.is_zero() {
            return Err(Error::invalid("grace", "the NAK delay must be positive"));
        }
        let pushback = self.pushback.map(PushbackPolicy::check).transpose()?;
        let capacity = self
            .capacity
            .unwrap_or((self.concurrency + self.prefetch) as u32);
        // b' (§5.4): a worker whose capacity is below the batch could never owe a whole batch.
        let token_batch = effective_batch(self.token_batch, capacity);
        self.registry.seal();
        let cfg = WorkerConfig {
            queue: self.queue,
            worker_id,
            concurrency: self.concurrency,
            prefetch: self.prefetch,
            handles: self.registry.handled(),
            registry: Arc::new(self.registry),
            listener: self.listener,
            max_attempts: self.max_attempts,
            backoff: self.backoff,
            max_deliveries: self.max_deliveries,
            max_payload_bytes: self.max_payload_bytes,
            cache_size: self.cache_size,
            grace_ms: self.grace.as_millis() as u64,
            grace_delay_ms: self.grace_delay.as_millis() as u64,
            token_batch,
            capacity: self.capacity,
            heartbeat: self.heartbeat,
            advert_ttl_ms: (self.heartbeat.as_millis() as u32).saturating_mul(3),
            handler_timeout: self.handler_timeout,
            shutdown_deadline: self.shutdown_deadline,
            idempotency_window: self.idempotency_window,
            reconciler: self.reconciler,
            shared_idempotency: self.shared_idempotency,
            latency_target: self.latency_target,
            breaker: self.breaker,
            pushback,
        };
        let (engine, consumer) = worker::prepare(self.client, cfg).await?;
        Ok(Worker { engine, consumer })
    }
}

/// A Sluice worker (§5.2, §5.4, §7–§10): pulls work, runs typed handlers, acks, retries,
/// dead-letters, and mints the credits that let producers send more.
pub struct Worker {
    engine: Arc<Engine>,
    consumer: PullConsumer,
}

impl Worker {
    /// A builder for a worker of `queue` on `client`.
    pub fn builder(client: async_nats::Client, queue: impl Into<String>) -> WorkerBuilder {
        WorkerBuilder {
            client,
            queue: queue.into(),
            worker_id: None,
            concurrency: 4,
            prefetch: 4,
            capacity: None,
            max_attempts: 3,
            backoff: Backoff {
                initial_ms: 100.0,
                ..Backoff::default()
            },
            max_deliveries: 10,
            max_payload_bytes: 1 << 20,
            cache_size: 100_000,
            grace: Duration::from_secs(3),
            grace_delay: Duration::from_millis(500),
            token_batch: 8,
            heartbeat: Duration::from_secs(2),
            handler_timeout: DEFAULT_HANDLER_TIMEOUT,
            shutdown_deadline: Duration::from_secs(10),
            idempotency_window: Duration::from_secs(3600),
            reconciler: Some(Duration::from_secs(2)),
            shared_idempotency: false,
            latency_target: None,
            breaker: Some(BreakerConfig::default()),
            pushback: Some(PushbackPolicy::default()),
            registry: Registry::default(),
            listener: None,
            errors: Vec::new(),
        }
    }

    /// The worker's id.
    pub fn id(&self) -> &str {
        &self.engine.cfg.worker_id
    }

    /// Runs until `shutdown` completes (a signal, a `CancellationToken::cancelled()`, a channel),
    /// then shuts down gracefully (§7.6): stops pulling, lets in-flight handlers finish, mints
    /// the credits it owes, and deletes its advert. Returns the number of messages processed.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<u64> {
        worker::run(self.engine, self.consumer, shutdown).await
    }
}
