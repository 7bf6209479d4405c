//! The public producer: [`Producer::builder`], [`OutgoingMessage`] and [`SendReceipt`].

use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::producer::{self, Engine, ProducerConfig};
use crate::trace::TraceParent;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// A message to send: a typed, versioned payload (§3).
///
/// ```
/// use sluice::{Json, OutgoingMessage};
/// let m = OutgoingMessage::encode("acme.Email", 1, &Json::<Vec<String>>::new(), &vec!["a@b".into()])
///     .unwrap()
///     .msg_id("email-42");
/// assert_eq!(m.type_name(), "acme.Email");
/// assert_eq!(m.payload(), &br#"["a@b"]"#[..]);
/// ```
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    pub(crate) type_name: String,
    pub(crate) version: u32,
    pub(crate) payload: Bytes,
    pub(crate) content_type: String,
    pub(crate) msg_id: Option<String>,
    pub(crate) traceparent: Option<TraceParent>,
    pub(crate) fairness_key: Option<String>,
}

impl OutgoingMessage {
    /// A message with an already encoded payload.
    pub fn new(
        type_name: impl Into<String>,
        version: u32,
        content_type: impl Into<String>,
        payload: impl Into<Bytes>,
    ) -> Self {
        OutgoingMessage {
            type_name: type_name.into(),
            version,
            payload: payload.into(),
            content_type: content_type.into(),
            msg_id: None,
            traceparent: None,
            fairness_key: None,
        }
    }

    /// A message whose payload `codec` encodes from `value`.
    pub fn encode<T, C: Codec<T>>(
        type_name: impl Into<String>,
        version: u32,
        codec: &C,
        value: &T,
    ) -> Result<Self> {
        Ok(Self::new(
            type_name,
            version,
            codec.content_type(),
            codec.encode(value)?,
        ))
    }

    /// The `Nats-Msg-Id`, the key the server and the workers deduplicate by (§9). Default: a
    /// unique id from the producer id. Set it to make retries of the same business event safe.
    pub fn msg_id(mut self, id: impl Into<String>) -> Self {
        self.msg_id = Some(id.into());
        self
    }

    /// The W3C trace context to continue (§10), e.g. [`crate::MessageContext::trace`] of the
    /// message being handled; its flags are kept. Default: a new trace sent unsampled (flags
    /// `00`, PROTOCOL.md §10 [v1.3]), which nothing in the producer records.
    pub fn trace(mut self, parent: TraceParent) -> Self {
        self.traceparent = Some(parent);
        self
    }

    /// The fairness key (§15.3), e.g. a tenant id: 1 to 64 characters of `[A-Za-z0-9_.:@-]`,
    /// sent as `Sluice-Fairness-Key`. When sends of several keys wait for credits, the producer
    /// grants them in weighted max-min fair order (deficit round robin, weights from the queue's
    /// `fairness_weights`, else 1), so one busy tenant cannot starve the others. A key that breaks
    /// the format fails the send with [`Error::InvalidFairnessKey`] before a credit is reserved.
    ///
    /// ```
    /// use sluice::OutgoingMessage;
    /// let m = OutgoingMessage::new("acme.Email", 1, "application/json", "{}").fairness_key("tenant-42");
    /// assert_eq!(m.get_fairness_key(), Some("tenant-42"));
    /// ```
    pub fn fairness_key(mut self, key: impl Into<String>) -> Self {
        self.fairness_key = Some(key.into());
        self
    }

    /// The fairness key, when set.
    pub fn get_fairness_key(&self) -> Option<&str> {
        self.fairness_key.as_deref()
    }

    /// The payload type.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// The schema version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The encoded payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
}

/// What the server confirmed for a sent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    /// The message's `Nats-Msg-Id`.
    pub msg_id: String,
    /// Its sequence in the work stream (of the stored original for a duplicate).
    pub stream_sequence: u64,
    /// The server had already stored a message with this id: nothing new was stored.
    pub duplicate: bool,
    /// The trace context the message carries.
    pub trace: TraceParent,
}

/// Something a producer did besides sending.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProducerEvent {
    /// A partly spent token went back: its `unspent` credits are a deficit the reconciler mints.
    Returned {
        /// Credits the token still had.
        unspent: u32,
    },
}

/// What a producer does when live workers exist and none handles the type and version it sends
/// (§4.3). With no live worker at all there is nothing to check against and every policy sends
/// (the send waits for credits, e.g. from a standing buffer during a deploy).
///
/// ```
/// use sluice::VersionPolicy;
/// assert_eq!(VersionPolicy::default(), VersionPolicy::Fail);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VersionPolicy {
    /// Refuse the send with [`Error::VersionNotHandled`], naming what the live workers handle
    /// (the default).
    #[default]
    Fail,
    /// Log a `tracing` warning (target `sluice`) once per type and version, and send. The
    /// workers that do not handle it settle it (§7: not-handled grace, then dead-letter).
    Warn,
    /// Send without checking, e.g. into a standing buffer ahead of a deploy of the workers that
    /// handle the new version.
    Allow,
}

/// Configures a [`Producer`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let client = async_nats::ConnectOptions::new().retry_on_initial_connect()
/// #     .connect("127.0.0.1:1").await.unwrap();
/// use sluice::{Error, Producer};
/// use std::time::Duration;
/// let err = Producer::builder(client, "Orders!")
///     .acquire_timeout(Duration::from_secs(5))
///     .build()
///     .await
///     .err()
///     .unwrap();
/// assert!(matches!(err, Error::InvalidOption { option: "queue", .. }));
/// # }
/// ```
pub struct ProducerBuilder {
    client: async_nats::Client,
    queue: String,
    producer_id: Option<String>,
    acquire_timeout: Duration,
    prefetch: usize,
    idle_return: Duration,
    publish_timeout: Duration,
    version_policy: VersionPolicy,
    listener: Option<producer::ProducerListener>,
}

impl ProducerBuilder {
    /// The producer's id (`[A-Za-z0-9_-]{1,64}`), unique among live producers. Default:
    /// `rust-<random>`.
    pub fn producer_id(mut self, id: impl Into<String>) -> Self {
        self.producer_id = Some(id.into());
        self
    }

    /// How long a send waits for a credit before it fails with [`Error::CreditTimeout`]
    /// (default 30 s).
    pub fn acquire_timeout(mut self, d: Duration) -> Self {
        self.acquire_timeout = d;
        self
    }

    /// Credit pulls outstanding at most while sends wait (§6 step 2, default 4).
    pub fn prefetch(mut self, n: usize) -> Self {
        self.prefetch = n;
        self
    }

    /// How long an unspent token is held with no send waiting before it goes back to the credit
    /// stream for other producers (§6 step 7, default 500 ms).
    pub fn idle_return(mut self, d: Duration) -> Self {
        self.idle_return = d;
        self
    }

    /// How long one publish waits for the server's acknowledgement (PubAck) before it is retried
    /// with the same `Nats-Msg-Id`, so a retry that reaches the server twice is stored once (§9);
    /// default 5 s, as the Java and Go producers. The retries keep the credit the send reserved
    /// and go on until the acquire timeout (at least 10 s) has passed since the reservation; then
    /// the send fails with [`Error::Publish`], whose reason names the timeout. Set it below the
    /// default to fail over faster from a server that stopped answering, above it for a stream
    /// whose replicas are far apart.
    ///
    /// ```
    /// # async fn demo(client: async_nats::Client) -> Result<(), sluice::Error> {
    /// use std::time::Duration;
    /// let producer = sluice::Producer::builder(client, "orders")
    ///     .publish_timeout(Duration::from_secs(2))
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn publish_timeout(mut self, d: Duration) -> Self {
        self.publish_timeout = d;
        self
    }

    /// What a send does when live workers exist and none handles its type and version (§4.3):
    /// [`VersionPolicy::Fail`] (the default), [`VersionPolicy::Warn`] or
    /// [`VersionPolicy::Allow`]. Under `Warn` and `Allow` a send that waits past its acquire
    /// timeout fails with [`Error::CreditTimeout`], never [`Error::VersionNotHandled`].
    ///
    /// ```
    /// # async fn demo(client: async_nats::Client) -> Result<(), sluice::Error> {
    /// use sluice::{Producer, VersionPolicy};
    /// // Version 2 goes out before the workers that handle it are deployed: warn, do not refuse.
    /// let producer = Producer::builder(client, "orders")
    ///     .version_policy(VersionPolicy::Warn)
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn version_policy(mut self, policy: VersionPolicy) -> Self {
        self.version_policy = policy;
        self
    }

    /// Calls `f` with every [`ProducerEvent`].
    pub fn on_event(mut self, f: impl Fn(&ProducerEvent) + Send + Sync + 'static) -> Self {
        self.listener = Some(Arc::new(f));
        self
    }

    /// Checks the options and that the queue is provisioned, then starts the producer's credit
    /// pulls.
    pub async fn build(self) -> Result<Producer> {
        if !crate::names::valid_queue(&self.queue) {
            return Err(Error::invalid(
                "queue",
                format!(
                    "{:?} is not a valid queue name ([a-z0-9_-], 1 to 64)",
                    self.queue
                ),
            ));
        }
        let producer_id = self
            .producer_id
            .unwrap_or_else(|| format!("rust-{}", crate::jsutil::instance_nonce()));
        if !crate::names::valid_id(&producer_id) {
            return Err(Error::invalid(
                "producer_id",
                format!("{producer_id:?} is not in the id charset [A-Za-z0-9_-], 1 to 64"),
            ));
        }
        if self.acquire_timeout.is_zero() {
            return Err(Error::invalid("acquire_timeout", "must be positive"));
        }
        if self.prefetch == 0 {
            return Err(Error::invalid("prefetch", "must be at least 1"));
        }
        if self.idle_return.is_zero() {
            return Err(Error::invalid("idle_return", "must be positive"));
        }
        if self.publish_timeout.is_zero() {
            return Err(Error::invalid("publish_timeout", "must be positive"));
        }
        let cfg = ProducerConfig {
            queue: self.queue,
            producer_id,
            acquire_timeout: self.acquire_timeout,
            prefetch: self.prefetch,
            pull_expiry: Duration::from_secs(1),
            report_interval: Duration::from_millis(250),
            report_ttl_ms: 3000,
            idle_return: self.idle_return,
            publish_timeout: self.publish_timeout,
            version_policy: self.version_policy,
            listener: self.listener,
        };
        Ok(Producer {
            engine: producer::start(self.client, cfg).await?,
        })
    }
}

/// A Sluice producer (§4.3, §6): every send waits for a credit a worker minted, so producers
/// never bury the workers. Cheap to share: clone it, or put it in an `Arc`.
#[derive(Clone)]
pub struct Producer {
    engine: Arc<Engine>,
}

impl Producer {
    /// A builder for a producer of `queue` on `client`.
    pub fn builder(client: async_nats::Client, queue: impl Into<String>) -> ProducerBuilder {
        ProducerBuilder {
            client,
            queue: queue.into(),
            producer_id: None,
            acquire_timeout: Duration::from_secs(30),
            prefetch: 4,
            idle_return: Duration::from_millis(500),
            publish_timeout: Duration::from_secs(5),
            version_policy: VersionPolicy::Fail,
            listener: None,
        }
    }

    /// Sends one message: waits for a credit (up to the acquire timeout), publishes, and returns
    /// once the server stored it.
    ///
    /// Errors: [`Error::CreditTimeout`] with a [`crate::CreditTimeoutReason`],
    /// [`Error::VersionNotHandled`] when live workers exist and none handles the type and version
    /// (under [`VersionPolicy::Fail`]),
    /// [`Error::MessageTooLarge`], [`Error::Publish`], [`Error::Closed`].
    pub async fn send(&self, msg: OutgoingMessage) -> Result<SendReceipt> {
        self.engine.send(msg).await
    }

    /// Sends messages concurrently, each waiting for its own credit; the receipts come back in
    /// the order of `msgs`. The first failure is returned; messages sent before it stay sent.
    pub async fn send_batch(&self, msgs: Vec<OutgoingMessage>) -> Result<Vec<SendReceipt>> {
        futures_util::future::try_join_all(msgs.into_iter().map(|m| self.engine.send(m))).await
    }

    /// Messages this producer has sent.
    pub fn sent_total(&self) -> u64 {
        self.engine.sent_total()
    }

    /// Closes the producer: returns the credits it holds and deletes its report. Sends after
    /// this fail with [`Error::Closed`]. Call it before the process exits; a producer dropped
    /// without it leaves its held credits to expire (they come back after the lease).
    pub async fn close(&self) {
        self.engine.close().await
    }
}
