//! Creating a queue's topology (§2) from Rust, so that a fleet with no Java in it can set up its
//! own queues.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use prost::Message as _;

use crate::error::{Error, Result};
use crate::names;
use crate::proto::{CreditToken, MintReason, QueueSettings};

/// What [`provision`] creates a queue with. Every setting has the default that the Java and Go
/// provisioning use; change one with its setter.
///
/// ```
/// use std::time::Duration;
/// let config = sluice::QueueConfig::default()
///     .token_batch(64)
///     .standing_buffer(16)
///     .ack_wait(Duration::from_secs(60));
/// assert_eq!(config.get_token_batch(), 64);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    standing_buffer: u32,
    token_batch: u32,
    max_messages: i64,
    ack_wait: Duration,
    max_message_size: i32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            standing_buffer: 0,
            token_batch: 32,
            max_messages: 100_000,
            ack_wait: Duration::from_secs(30),
            max_message_size: 1 << 20,
        }
    }
}

impl QueueConfig {
    /// The window while no worker is live (§5.1; default 0), minted once on a fresh queue.
    pub fn standing_buffer(mut self, credits: u32) -> Self {
        self.standing_buffer = credits;
        self
    }

    /// The queue's token batch `b` (§5.3; default 32): a power of two up to 2^20.
    pub fn token_batch(mut self, b: u32) -> Self {
        self.token_batch = b;
        self
    }

    /// The work stream's hard limit, for producers that ignore credits (default 100,000).
    pub fn max_messages(mut self, n: i64) -> Self {
        self.max_messages = n;
        self
    }

    /// The workers consumer's ack wait (default 30 s).
    pub fn ack_wait(mut self, wait: Duration) -> Self {
        self.ack_wait = wait;
        self
    }

    /// The largest message the work stream stores, in bytes (default 1 MiB).
    pub fn max_message_size(mut self, bytes: i32) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// The configured token batch.
    pub fn get_token_batch(&self) -> u32 {
        self.token_batch
    }

    /// The configured standing buffer.
    pub fn get_standing_buffer(&self) -> u32 {
        self.standing_buffer
    }

    fn validate(&self, queue: &str) -> Result<()> {
        let invalid = |option, reason: String| Err(Error::InvalidOption { option, reason });
        if !names::valid_queue(queue) {
            return invalid(
                "queue",
                format!("{queue:?} is not a queue name: 1-63 characters of [A-Za-z0-9_-], starting with a letter or digit"),
            );
        }
        if !self.token_batch.is_power_of_two() || self.token_batch > 1 << 20 {
            return invalid(
                "token_batch",
                format!("{} is not a power of two from 1 to 2^20", self.token_batch),
            );
        }
        if self.max_messages < 1 {
            return invalid("max_messages", format!("{} is below 1", self.max_messages));
        }
        if self.ack_wait < Duration::from_secs(1) {
            return invalid("ack_wait", format!("{:?} is below 1 s", self.ack_wait));
        }
        if self.max_message_size < 1024 {
            return invalid(
                "max_message_size",
                format!("{} bytes is below 1,024", self.max_message_size),
            );
        }
        Ok(())
    }
}

/// Creates the topology of `queue` (§2) where it is missing — the work stream and its workers
/// consumer, the credit stream and the queue's credit consumer, the dead-letter stream, the
/// capacity, control and processed buckets — writes the queue's token batch and standing buffer
/// into its `QueueSettings` (keeping any other setting an operator wrote), and mints the standing
/// buffer on a fresh queue only (§5.5 bootstrap: no stored token, an empty work stream, no
/// reconciler lease). Running it twice adds nothing; streams and consumers that exist are left as
/// they are.
///
/// The connection needs the operator role's permissions (§2.1). Production deployments often
/// provision with `scripts/sluice apply` instead; this is for services that own their queue,
/// tests and examples.
///
/// ```no_run
/// # async fn demo() -> sluice::Result<()> {
/// let client = async_nats::connect("nats://127.0.0.1:4222").await.unwrap();
/// let js = async_nats::jetstream::new(client);
/// sluice::provision(&js, "orders", &sluice::QueueConfig::default().token_batch(16)).await?;
/// # Ok(()) }
/// ```
pub async fn provision(js: &jetstream::Context, queue: &str, config: &QueueConfig) -> Result<()> {
    config.validate(queue)?;
    let fail = |what: String| {
        let queue = queue.to_string();
        move |e: Box<dyn std::error::Error + Send + Sync>| Error::Provision {
            queue,
            what,
            cause: e.to_string(),
        }
    };
    let work = js
        .get_or_create_stream(stream::Config {
            name: names::work_stream(queue),
            subjects: vec![names::work_subject(queue)],
            retention: stream::RetentionPolicy::WorkQueue,
            discard: stream::DiscardPolicy::New,
            max_messages: config.max_messages,
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            max_message_size: config.max_message_size,
            ..Default::default()
        })
        .await
        .map_err(|e| fail("the work stream".into())(e.into()))?;
    work.get_or_create_consumer(
        names::WORKER_CONSUMER,
        consumer::pull::Config {
            durable_name: Some(names::WORKER_CONSUMER.into()),
            ack_policy: consumer::AckPolicy::Explicit,
            max_deliver: -1,
            max_ack_pending: 10_000,
            ack_wait: config.ack_wait,
            max_waiting: 512,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| fail("the workers consumer".into())(e.into()))?;
    let credits = js
        .get_or_create_stream(stream::Config {
            name: names::CREDIT_STREAM.into(),
            subjects: vec!["sluice.credit.>".into()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|e| fail("the credit stream".into())(e.into()))?;
    let credit_consumer = names::credit_consumer(queue);
    credits
        .get_or_create_consumer(
            &credit_consumer,
            consumer::pull::Config {
                durable_name: Some(credit_consumer.clone()),
                ack_policy: consumer::AckPolicy::Explicit,
                filter_subject: names::credit_filter(queue),
                max_deliver: -1,
                ack_wait: Duration::from_secs(10),
                max_waiting: 512,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| fail("the credit consumer".into())(e.into()))?;
    js.get_or_create_stream(stream::Config {
        name: names::DLQ_STREAM.into(),
        subjects: vec!["sluice.dlq.>".into()],
        retention: stream::RetentionPolicy::Limits,
        max_age: Duration::from_secs(30 * 24 * 3600),
        duplicate_window: Duration::from_secs(600),
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| fail("the dead-letter stream".into())(e.into()))?;
    for (bucket, max_age) in [
        (names::CAPACITY_BUCKET, Duration::from_secs(60)),
        (names::CONTROL_BUCKET, Duration::ZERO),
        (names::PROCESSED_BUCKET, Duration::from_secs(3600)),
    ] {
        // The bucket's stream as §2 and jetstream-config/ declare it (the KV create request of
        // async-nats is not understood by nats-server 2.9, the oldest server Sluice supports).
        js.get_or_create_stream(stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            retention: stream::RetentionPolicy::Limits,
            max_messages_per_subject: 1,
            max_age,
            discard: stream::DiscardPolicy::New,
            storage: stream::StorageType::File,
            duplicate_window: if max_age.is_zero() || max_age > Duration::from_secs(120) {
                Duration::from_secs(120)
            } else {
                max_age
            },
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            ..Default::default()
        })
        .await
        .map_err(|e| fail(format!("the bucket {bucket}"))(e.into()))?;
    }
    write_settings(js, queue, config)
        .await
        .map_err(|e| fail("the queue's settings".into())(e))?;
    bootstrap(js, queue, config)
        .await
        .map_err(|e| fail("the standing buffer".into())(e))
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Writes the token batch and standing buffer into `QueueSettings`, keeping every other field,
/// with the read revision as the expected one (a concurrent writer makes this fail, not lose).
async fn write_settings(
    js: &jetstream::Context,
    queue: &str,
    config: &QueueConfig,
) -> std::result::Result<(), BoxError> {
    let control = js.get_key_value(names::CONTROL_BUCKET).await?;
    let key = names::settings_key(queue);
    let current = control.entry(&key).await?;
    let mut settings = match &current {
        Some(e) if !e.value.is_empty() => QueueSettings::decode(e.value.as_ref())?,
        _ => QueueSettings::default(),
    };
    settings.queue = queue.to_string();
    settings.token_batch = config.token_batch;
    settings.standing_buffer = config.standing_buffer;
    let body = settings.encode_to_vec().into();
    match current {
        Some(e) => control.update(&key, body, e.revision).await.map(|_| ())?,
        None => control.create(&key, body).await.map(|_| ())?,
    }
    Ok(())
}

/// Mints the standing buffer when the queue is fresh (§5.5 bootstrap).
async fn bootstrap(
    js: &jetstream::Context,
    queue: &str,
    config: &QueueConfig,
) -> std::result::Result<(), BoxError> {
    if config.standing_buffer == 0 || stored_credits(js, queue).await? > 0 {
        return Ok(());
    }
    let mut work = js.get_stream(names::work_stream(queue)).await?;
    if work.info().await?.state.messages > 0 {
        return Ok(());
    }
    let control = js.get_key_value(names::CONTROL_BUCKET).await?;
    if control.entry(names::reconciler_key(queue)).await?.is_some() {
        return Ok(());
    }
    let nonce = crate::jsutil::instance_nonce();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let tokens = crate::credits::decompose(config.standing_buffer as u64, config.token_batch);
    for (i, n) in tokens.into_iter().enumerate() {
        let body = CreditToken {
            credits: n,
            minted_by: "provision".into(),
            minted_unix_ms: now,
            reason: MintReason::Bootstrap as i32,
        };
        let id = crate::credits::token_id("provision", &nonce, i as u64 + 1);
        if !crate::jsutil::publish_token(
            js,
            names::credit_subject(queue, n),
            body.encode_to_vec().into(),
            id.clone(),
            3,
        )
        .await
        {
            return Err(format!("the server did not confirm token {id}").into());
        }
    }
    Ok(())
}

/// T: the credits stored for `queue` (§5.3), from the credit stream's subject counts.
async fn stored_credits(
    js: &jetstream::Context,
    queue: &str,
) -> std::result::Result<u64, BoxError> {
    let credits = js.get_stream(names::CREDIT_STREAM).await?;
    let mut subjects = credits
        .info_with_subjects(names::credit_filter(queue))
        .await?;
    let mut total = 0u64;
    while let Some(item) = subjects.next().await {
        let (subject, count) = item?;
        total += names::token_credits(&subject).unwrap_or(0) as u64 * count as u64;
    }
    Ok(total)
}
