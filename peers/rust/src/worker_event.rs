//! What a running [`crate::Worker`] reports: [`WorkerEvent`] and [`NakReason`].

use crate::error::DeadLetterReason;
use std::time::Duration;

/// Something a running worker did, for logs, metrics or a test. Register a listener with
/// [`WorkerBuilder::on_event`](crate::WorkerBuilder::on_event); it runs on the worker's tasks, so keep it short.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WorkerEvent {
    /// The worker advertised its capacity and is pulling.
    Ready,
    /// A handler succeeded and its ack was sent. The ack is plain; the server confirms it, with
    /// every ack sent before it, before its credit is minted (§5.4).
    Processed {
        /// The message's `Nats-Msg-Id`.
        msg_id: String,
        /// The delivery attempt, from 1.
        attempt: u64,
        /// The W3C trace id the message carried (or a new one).
        trace_id: String,
        /// The payload type.
        type_name: String,
        /// The schema version the producer sent.
        version: u32,
    },
    /// A delivery was NAKed: redelivered after `delay`.
    Nak {
        /// The message's `Nats-Msg-Id`, when it had one.
        msg_id: Option<String>,
        /// The delivery attempt, from 1.
        attempt: u64,
        /// The redelivery delay.
        delay: Duration,
        /// Why.
        reason: NakReason,
    },
    /// A handler pushed back ([`crate::HandlerError::Overloaded`], §15.1): the delivery is held
    /// and its handler runs again after `retry_in`; the worker's capacity is lowered.
    PushedBack {
        /// The message's `Nats-Msg-Id`.
        msg_id: String,
        /// Pushbacks of this delivery so far.
        pushbacks: u64,
        /// When the handler runs again.
        retry_in: Duration,
    },
    /// A message was written to the dead-letter stream and terminated (§8).
    DeadLettered {
        /// The message's `Nats-Msg-Id`, when it had one.
        msg_id: Option<String>,
        /// Why.
        reason: DeadLetterReason,
        /// The delivery attempt, from 1.
        attempt: u64,
    },
    /// A message the shared idempotency store (§9) records as processed was acked without
    /// running its handler.
    Duplicate {
        /// The message's `Nats-Msg-Id`.
        msg_id: String,
    },
    /// The circuit breaker (§7.6) opened (the worker stops pulling and advertises
    /// `CIRCUIT_OPEN` with capacity 0) or closed after a successful probe.
    CircuitChanged {
        /// Whether it is open now.
        open: bool,
    },
    /// The worker's health changed: `problem` says why it is failing, `None` when it is well
    /// again (§8.4).
    Health {
        /// What is wrong and what to do about it.
        problem: Option<String>,
    },
    /// The worker drained and deleted its advert.
    Stopped {
        /// Messages it processed.
        processed: u64,
    },
}

/// Why a delivery was NAKed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NakReason {
    /// The handler failed with [`crate::HandlerError::Retry`] (or timed out): retried after the
    /// backoff (§7.3).
    Retry,
    /// This worker does not handle the type or version, and another worker may (§4.2 grace).
    NotHandled,
    /// The shared idempotency store (§9) could not say whether the message was processed: the
    /// handler did not run, the message comes back after 1 s.
    StoreUnreadable,
}

impl NakReason {
    /// The code the conformance contract prints: `retry`, `not-handled` or `store-unreadable`.
    pub fn code(self) -> &'static str {
        match self {
            NakReason::Retry => "retry",
            NakReason::NotHandled => "not-handled",
            NakReason::StoreUnreadable => "store-unreadable",
        }
    }
}
