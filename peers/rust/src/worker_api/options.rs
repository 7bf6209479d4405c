//! The [`WorkerBuilder`]'s options: identity, sizes, retries, timings, and the full worker's
//! reconciler (§5.5), shared idempotency store (§9), latency-target capacity (§5.2) and circuit
//! breaker (§7.6). They are checked by [`WorkerBuilder::build`].

use super::WorkerBuilder;
use crate::backoff::Backoff;
use crate::breaker::BreakerConfig;
use std::time::Duration;

impl WorkerBuilder {
    /// The worker's id (`[A-Za-z0-9_-]{1,64}`), unique in the fleet. Default: `rust-<random>`.
    pub fn worker_id(mut self, id: impl Into<String>) -> Self {
        self.worker_id = Some(id.into());
        self
    }

    /// Handlers that run at once (default 4).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Deliveries held beyond the running handlers (default 4).
    pub fn prefetch(mut self, n: usize) -> Self {
        self.prefetch = n;
        self
    }

    /// A fixed advertised capacity (§5.2) instead of `concurrency + prefetch`. Excludes
    /// [`WorkerBuilder::latency_target`].
    pub fn capacity(mut self, n: u32) -> Self {
        self.capacity = Some(n);
        self
    }

    /// Attempts before a failing message is dead-lettered with `max-attempts` (default 3).
    pub fn max_attempts(mut self, n: u64) -> Self {
        self.max_attempts = n;
        self
    }

    /// The first retry delay of the exponential backoff (§7.3, default 100 ms).
    pub fn backoff_initial(mut self, d: Duration) -> Self {
        self.backoff.initial_ms = d.as_secs_f64() * 1000.0;
        self
    }

    /// The whole retry backoff (§7.3): the delay after failed attempt `k` is
    /// `min(max_delay, initial × multiplier^(k−1))`, spread by ±`jitter` (a fraction in
    /// `[0, 1]`). Default: 100 ms, ×2, at most 60 s, jitter 0.2.
    pub fn backoff(
        mut self,
        initial: Duration,
        multiplier: f64,
        max_delay: Duration,
        jitter: f64,
    ) -> Self {
        self.backoff = Backoff {
            initial_ms: initial.as_secs_f64() * 1000.0,
            multiplier,
            max_delay_ms: max_delay.as_secs_f64() * 1000.0,
            jitter,
        };
        self
    }

    /// The delivery count past which a message is dead-lettered `max-deliveries` (default 10;
    /// raised to cover `max_attempts` plus the grace period's NAKs, §7.2).
    pub fn max_deliveries(mut self, n: u64) -> Self {
        self.max_deliveries = n;
        self
    }

    /// Payloads larger than `n` bytes are dead-lettered `oversize` (default 1 MiB).
    pub fn max_payload_bytes(mut self, n: usize) -> Self {
        self.max_payload_bytes = n;
        self
    }

    /// How long a message of a type or version no live worker handles is NAKed before it is
    /// dead-lettered (§4.2, default 3 s), and the NAK delay meanwhile (default 500 ms).
    pub fn grace(mut self, period: Duration, delay: Duration) -> Self {
        self.grace = period;
        self.grace_delay = delay;
        self
    }

    /// The token batch `b` (§5.4): a power of two up to 2^20 (default 8).
    pub fn token_batch(mut self, b: u32) -> Self {
        self.token_batch = b;
        self
    }

    /// How often the worker rewrites its capacity advert (§5.2, default 2 s); the advert lives
    /// three heartbeats. The service rate, and with it a latency-target capacity, is measured
    /// once a heartbeat.
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    /// How long one handler call may run before it counts as a retryable failure (default 60 s).
    pub fn handler_timeout(mut self, d: Duration) -> Self {
        self.handler_timeout = d;
        self
    }

    /// How long shutdown waits for in-flight handlers (default 10 s).
    pub fn shutdown_deadline(mut self, d: Duration) -> Self {
        self.shutdown_deadline = d;
        self
    }

    /// How long a processed id stays in the local idempotency cache (§9, default 1 h).
    pub fn idempotency_window(mut self, d: Duration) -> Self {
        self.idempotency_window = d;
        self
    }

    /// The local idempotency cache (§9): at most `size` processed ids (default 100 000), each
    /// for `window` (default 1 h). A redelivered message whose id is in it is acked without
    /// running the handler.
    pub fn idempotency_cache(mut self, size: usize, window: Duration) -> Self {
        self.cache_size = size;
        self.idempotency_window = window;
        self
    }

    /// Whether this worker may become its queue's reconciler (§5.5), and its audit interval
    /// (default: on, every 2 s). One worker per queue wins the election; it mints credits that
    /// went missing (a worker killed while it owed credits) and burns a surplus. Turn it off
    /// only when another full worker (Java, or Rust with it on) always runs on the queue.
    pub fn reconciler(mut self, audit_interval: Option<Duration>) -> Self {
        self.reconciler = audit_interval;
        self
    }

    /// Records every processed message id in the `sluice-processed` bucket and checks it before
    /// running a handler (§9), so a message whose worker died after the handler's effect and
    /// before its ack is not handled again by another worker of the fleet. Off by default: it
    /// costs a read and a write per message.
    ///
    /// The record is written before the finishing ack; while it cannot be written the message
    /// is held (with progress acks) for up to `max(handler timeout, 3 × ack wait)`, then acked
    /// without one. The store is read through the stream leader, so a lagging replica cannot
    /// report a processed message as new. When it cannot be read, the handler does not run and
    /// the message is NAKed (delay 1 s, [`NakReason::StoreUnreadable`](crate::NakReason::StoreUnreadable)). A duplicate is acked
    /// without running the handler ([`WorkerEvent::Duplicate`](crate::WorkerEvent::Duplicate)). [`WorkerBuilder::build`]
    /// fails when the bucket is not provisioned.
    ///
    /// ```
    /// # async fn demo(client: async_nats::Client) -> Result<(), sluice::Error> {
    /// use sluice::{Json, Worker};
    /// let worker = Worker::builder(client, "payments")
    ///     .shared_idempotency(true)
    ///     .handle("acme.Charge", 1..=1, Json::<String>::new(), |_card: String, _| async { Ok(()) })
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn shared_idempotency(mut self, on: bool) -> Self {
        self.shared_idempotency = on;
        self
    }

    /// Advertises a capacity from the measured service rate instead of a static one (§5.2):
    /// `concurrency + ceil(rate × wait)`, bounded by `[concurrency, max_capacity]`, plus twice
    /// the token batch for credits in transit, so a message waits about `wait` in the backlog
    /// (Little's law). The worker still holds at most `concurrency + prefetch` messages at once.
    /// Excludes [`WorkerBuilder::capacity`].
    ///
    /// ```
    /// # async fn demo(client: async_nats::Client) -> Result<(), sluice::Error> {
    /// use std::time::Duration;
    /// use sluice::{Json, Worker};
    /// // About 200 ms in the backlog, never more than 64 messages advertised for it.
    /// let worker = Worker::builder(client, "thumbnails")
    ///     .latency_target(Duration::from_millis(200), 64)
    ///     .handle("acme.Thumb", 1..=1, Json::<String>::new(), |_path: String, _| async { Ok(()) })
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn latency_target(mut self, wait: Duration, max_capacity: u32) -> Self {
        self.latency_target = Some((wait, max_capacity));
        self
    }

    /// When the worker stops pulling because its handler fails (§7.6): once at least
    /// `failures` of the last `window` handler runs failed ([`crate::HandlerError::Retry`],
    /// a timeout or a panic; rejections, undecodable payloads and pushbacks do not count), the
    /// circuit opens: the worker advertises `CIRCUIT_OPEN` with capacity 0, so producers feel
    /// the outage as back-pressure, waits `delay`, then pulls one message at a time, each a
    /// probe. A probe whose handler succeeds closes the circuit, one whose handler fails opens
    /// it for another `delay`; a probe settled without a handler run (a rejection, a duplicate,
    /// a type not handled here) decides nothing and the next message probes; a probe pull that
    /// finds the queue empty closes the circuit (an open worker on a queue it serves alone gets
    /// no credit minted, so no message would ever come to probe with). Only probes decide while
    /// the circuit is open. Default: on, 10 of 20, 5 s. [`WorkerEvent::CircuitChanged`](crate::WorkerEvent::CircuitChanged) reports it.
    ///
    /// ```
    /// # async fn demo(client: async_nats::Client) -> Result<(), sluice::Error> {
    /// use std::time::Duration;
    /// use sluice::{Json, Worker};
    /// let worker = Worker::builder(client, "webhooks")
    ///     .circuit_breaker(5, 10, Duration::from_secs(30))
    ///     .handle("acme.Hook", 1..=1, Json::<String>::new(), |_url: String, _| async { Ok(()) })
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn circuit_breaker(mut self, failures: usize, window: usize, delay: Duration) -> Self {
        self.breaker = Some(BreakerConfig {
            failures,
            window,
            delay,
        });
        self
    }

    /// Keeps pulling however often the handler fails (no circuit breaker, §7.6).
    pub fn without_circuit_breaker(mut self) -> Self {
        self.breaker = None;
        self
    }
}
