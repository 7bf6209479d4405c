//! Typed handlers, upcasters and middleware, and the registry that turns a delivery's bytes into a
//! handler call (§7.2 steps 6 and 7).

use crate::codec::Codec;
use crate::error::{CodecError, Error, Result};
use crate::outcome::HandledType;
use crate::trace::TraceParent;
use async_nats::jetstream::{AckKind, Message};
use futures_util::future::BoxFuture;
use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::ops::RangeInclusive;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Why a handler did not finish a message. Returning `Ok(())` acks it.
///
/// ```
/// use sluice::HandlerError;
/// let retry = HandlerError::retry("database busy");
/// assert!(!retry.is_reject());
/// assert!(HandlerError::reject("negative amount").is_reject());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// A transient failure: the message is NAKed with the worker's backoff (§7.3) and retried,
    /// and dead-lettered with reason `max-attempts` after the last allowed attempt.
    #[error("{0}")]
    Retry(String),
    /// The message is permanently bad: it is dead-lettered at once with reason `rejected`.
    #[error("{0}")]
    Reject(String),
    /// The system the handler calls is overloaded (an HTTP 429 or 503, a full pool): a
    /// **pushback** (§15.1). Neither a success nor a failure: the worker keeps the delivery in
    /// hand (no NAK, so no attempt is counted and a pushback never dead-letters), runs the
    /// handler again on the same delivery after `retry_after` (else the backoff for the number
    /// of pushbacks so far), and lowers its advertised capacity (AIMD: halved at most once a
    /// second, +1 a second while handlers succeed) so producers send less until the downstream
    /// recovers.
    #[error("downstream overloaded")]
    Overloaded {
        /// When to try again; `None`: the worker's backoff.
        retry_after: Option<Duration>,
    },
}

impl HandlerError {
    /// A transient failure; the message is retried after a backoff.
    pub fn retry(reason: impl std::fmt::Display) -> Self {
        HandlerError::Retry(reason.to_string())
    }
    /// A permanent failure; the message is dead-lettered.
    pub fn reject(reason: impl std::fmt::Display) -> Self {
        HandlerError::Reject(reason.to_string())
    }
    /// A pushback (§15.1): the downstream is overloaded; retried on the same delivery after
    /// `retry_after` (else the backoff) without counting an attempt.
    ///
    /// ```
    /// use sluice::HandlerError;
    /// use std::time::Duration;
    /// let busy = HandlerError::overloaded(Some(Duration::from_millis(500)));
    /// assert!(busy.is_overloaded() && !busy.is_reject());
    /// ```
    pub fn overloaded(retry_after: Option<Duration>) -> Self {
        HandlerError::Overloaded { retry_after }
    }
    /// Whether this is a pushback.
    pub fn is_overloaded(&self) -> bool {
        matches!(self, HandlerError::Overloaded { .. })
    }
    /// Whether this dead-letters the message at once.
    pub fn is_reject(&self) -> bool {
        matches!(self, HandlerError::Reject(_))
    }
}

/// What a handler knows about the delivery it runs for.
///
/// A worker's context reads the id and the type from the delivery's own headers (validated
/// before the handler runs) and makes the trace context when it is first asked for: a handler
/// run copies neither.
#[derive(Clone)]
pub struct MessageContext {
    /// The id and type of a context without a delivery (`for_test`); empty otherwise.
    pub(crate) msg_id: String,
    pub(crate) type_name: String,
    pub(crate) version: u32,
    pub(crate) attempt: u64,
    pub(crate) stream_sequence: u64,
    /// Shared by the runs of one delivery (a pushback runs the handler again) and the worker.
    pub(crate) trace: Arc<OnceLock<TraceParent>>,
    pub(crate) worker_id: Arc<str>,
    pub(crate) message: Option<Arc<Message>>,
}

impl MessageContext {
    /// The message's `Nats-Msg-Id`, its idempotency key.
    pub fn msg_id(&self) -> &str {
        self.header(crate::headers::MSG_ID).unwrap_or(&self.msg_id)
    }
    /// The payload type (`Sluice-Type`).
    pub fn type_name(&self) -> &str {
        self.header(crate::headers::TYPE).unwrap_or(&self.type_name)
    }
    /// The first value of the delivery's header `name`.
    fn header(&self, name: &'static str) -> Option<&str> {
        let headers = self.message.as_ref()?.headers.as_ref()?;
        headers
            .get(async_nats::HeaderName::from_static(name))
            .map(|v| v.as_str())
    }
    /// The schema version the producer sent (`Sluice-Type-Version`), before any upcasting.
    pub fn version(&self) -> u32 {
        self.version
    }
    /// The delivery attempt, from 1.
    pub fn attempt(&self) -> u64 {
        self.attempt
    }
    /// The message's sequence in the work stream.
    pub fn stream_sequence(&self) -> u64 {
        self.stream_sequence
    }
    /// This handler run's W3C trace context: the producer's trace id with a new span id (§10).
    /// Send [`TraceParent::header`] on as `traceparent` to continue the trace downstream.
    pub fn trace(&self) -> &TraceParent {
        self.trace
            .get_or_init(|| crate::trace::continue_trace(self.header(crate::headers::TRACEPARENT)))
    }
    /// The id of the worker running the handler.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }
    /// Tells the server the handler is still working (`+WPI`, §7.1), so a long handler's
    /// message is not redelivered. The worker already does this every ack wait / 3; call it
    /// from handlers that block for longer between awaits.
    pub async fn progress(&self) -> Result<()> {
        match &self.message {
            Some(m) => m.ack_with(AckKind::Progress).await.map_err(Error::nats),
            None => Ok(()),
        }
    }

    /// A context for testing handlers and middleware without a server: `progress` does nothing.
    ///
    /// ```
    /// let ctx = sluice::MessageContext::for_test("order-1", "examples.Order", 2, 1);
    /// assert_eq!(ctx.msg_id(), "order-1");
    /// assert_eq!(ctx.trace().trace_id.len(), 32);
    /// ```
    pub fn for_test(msg_id: &str, type_name: &str, version: u32, attempt: u64) -> Self {
        MessageContext {
            msg_id: msg_id.into(),
            type_name: type_name.into(),
            version,
            attempt,
            stream_sequence: 0,
            trace: Arc::new(OnceLock::from(crate::trace::new_trace())),
            worker_id: Arc::from("test"),
            message: None,
        }
    }
}

impl std::fmt::Debug for MessageContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageContext")
            .field("msg_id", &self.msg_id())
            .field("type_name", &self.type_name())
            .field("version", &self.version)
            .field("attempt", &self.attempt)
            .field("stream_sequence", &self.stream_sequence)
            .field("trace", &self.trace().header())
            .finish()
    }
}

/// The result of a handler run.
pub type HandlerResult = std::result::Result<(), HandlerError>;

/// Code that runs around every handler call, outermost first: logging, metrics, timing, an
/// authorization check. Call `next.run(ctx)` to go on, or return without calling it to stop.
///
/// ```
/// use sluice::{HandlerResult, MessageContext, Middleware, Next};
/// use futures_util::future::BoxFuture;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
///
/// struct Count(Arc<AtomicU64>);
/// impl Middleware for Count {
///     fn call(&self, ctx: MessageContext, next: Next) -> BoxFuture<'static, HandlerResult> {
///         let calls = self.0.clone();
///         Box::pin(async move {
///             calls.fetch_add(1, Ordering::Relaxed);
///             next.run(ctx).await
///         })
///     }
/// }
/// ```
pub trait Middleware: Send + Sync + 'static {
    /// Runs around one handler call.
    fn call(&self, ctx: MessageContext, next: Next) -> BoxFuture<'static, HandlerResult>;
}

type Invoke = Box<dyn FnOnce(MessageContext) -> BoxFuture<'static, HandlerResult> + Send>;

/// The rest of the middleware chain and the handler.
pub struct Next {
    chain: Arc<[Arc<dyn Middleware>]>,
    index: usize,
    invoke: Invoke,
}

impl Next {
    /// Runs the next middleware, or the handler after the last one.
    pub fn run(self, ctx: MessageContext) -> BoxFuture<'static, HandlerResult> {
        match self.chain.get(self.index).cloned() {
            Some(m) => m.call(
                ctx,
                Next {
                    chain: self.chain,
                    index: self.index + 1,
                    invoke: self.invoke,
                },
            ),
            None => (self.invoke)(ctx),
        }
    }
}

type ErasedHandler = Arc<dyn Fn(u32, &[u8]) -> std::result::Result<Invoke, String> + Send + Sync>;
type ErasedUpcaster = Arc<
    dyn Fn(Box<dyn Any + Send>) -> std::result::Result<Box<dyn Any + Send>, String> + Send + Sync,
>;

pub(crate) struct TypeEntry {
    pub(crate) min_version: u32,
    pub(crate) max_version: u32,
    decode_and_bind: ErasedHandler,
}

/// Handlers by payload type, with their upcasters and the middleware chain.
#[derive(Default)]
pub(crate) struct Registry {
    pub(crate) types: BTreeMap<String, TypeEntry>,
    pub(crate) upcasters: Arc<std::sync::Mutex<BTreeMap<(String, u32), ErasedUpcaster>>>,
    pub(crate) middleware: Vec<Arc<dyn Middleware>>,
    chain: Option<Arc<[Arc<dyn Middleware>]>>,
}

/// A decoded delivery bound to its handler, ready to run.
pub(crate) struct Bound {
    invoke: Invoke,
}

impl Registry {
    pub(crate) fn add<T, C, F, Fut>(
        &mut self,
        type_name: &str,
        versions: RangeInclusive<u32>,
        codec: C,
        handler: F,
    ) where
        T: Send + 'static,
        C: Codec<T>,
        F: Fn(T, MessageContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let upcasters = self.upcasters.clone();
        let max = *versions.end();
        let name = type_name.to_string();
        let decode_and_bind: ErasedHandler = Arc::new(move |version, payload| {
            let value = codec.decode(payload).map_err(|e| e.0)?;
            // At the newest version there is nothing to upcast: bound as decoded, unboxed.
            let value = if version >= max {
                value
            } else {
                let mut boxed: Box<dyn Any + Send> = Box::new(value);
                let ups = upcasters.lock().unwrap();
                for v in version..max {
                    if let Some(up) = ups.get(&(name.clone(), v)) {
                        boxed = up(boxed)
                            .map_err(|e| format!("upcasting {name} from version {v}: {e}"))?;
                    }
                }
                drop(ups);
                *boxed
                    .downcast::<T>()
                    .map_err(|_| format!("an upcaster of {name} returned another type"))?
            };
            let handler = handler.clone();
            Ok(Box::new(
                move |ctx: MessageContext| -> BoxFuture<'static, HandlerResult> {
                    Box::pin(handler(value, ctx))
                },
            ) as Invoke)
        });
        self.types.insert(
            type_name.to_string(),
            TypeEntry {
                min_version: *versions.start(),
                max_version: max,
                decode_and_bind,
            },
        );
    }

    pub(crate) fn erase_upcaster<T, F>(f: F) -> ErasedUpcaster
    where
        T: Send + 'static,
        F: Fn(T) -> std::result::Result<T, CodecError> + Send + Sync + 'static,
    {
        Arc::new(move |boxed: Box<dyn Any + Send>| {
            let value = *boxed
                .downcast::<T>()
                .map_err(|_| "the upcaster's type is not the handler's type".to_string())?;
            f(value)
                .map(|v| Box::new(v) as Box<dyn Any + Send>)
                .map_err(|e| e.0)
        })
    }

    /// Freezes the middleware chain (called once the builder is done).
    pub(crate) fn seal(&mut self) {
        self.chain = Some(self.middleware.clone().into());
    }

    pub(crate) fn handled(&self) -> Vec<HandledType> {
        self.types
            .iter()
            .map(|(t, e)| HandledType {
                type_name: t.clone(),
                min_version: e.min_version,
                max_version: e.max_version,
            })
            .collect()
    }

    /// Step 6: decodes and upcasts the payload; `Err` is a `decode-error` dead letter.
    pub(crate) fn bind(
        &self,
        type_name: &str,
        version: u32,
        payload: &[u8],
    ) -> std::result::Result<Bound, String> {
        let entry = self
            .types
            .get(type_name)
            .ok_or_else(|| format!("no handler for {type_name}"))?;
        Ok(Bound {
            invoke: (entry.decode_and_bind)(version, payload)?,
        })
    }

    /// Step 7: runs the middleware chain and the handler.
    pub(crate) fn run(
        &self,
        bound: Bound,
        ctx: MessageContext,
    ) -> BoxFuture<'static, HandlerResult> {
        Next {
            chain: self
                .chain
                .clone()
                .unwrap_or_else(|| self.middleware.clone().into()),
            index: 0,
            invoke: bound.invoke,
        }
        .run(ctx)
    }
}

/// Default time a handler may run before it counts as failed.
pub(crate) const DEFAULT_HANDLER_TIMEOUT: Duration = Duration::from_secs(60);
