//! # Sluice for Rust
//!
//! Durable work queues on NATS JetStream with credit-based flow control, interoperable with the
//! Java and Go implementations of the same protocol
//! ([`protocol/PROTOCOL.md`](https://github.com/sluice-dev/sluice/blob/main/protocol/PROTOCOL.md),
//! `sluice/v1`).
//!
//! A [`Producer`] sends only when a worker has minted a credit for it, so a fast producer never
//! buries a slow worker; a [`Worker`] runs typed handlers, retries with backoff, dead-letters
//! what cannot succeed, and mints a credit for every message it finishes.
//!
//! ```no_run
//! use sluice::{HandlerError, Json, OutgoingMessage, Producer, Worker};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Resize { image: String, width: u32 }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = async_nats::connect("nats://127.0.0.1:4222").await?;
//!
//! let worker = Worker::builder(client.clone(), "images")
//!     .worker_id("resizer-1")
//!     .handle("acme.Resize", 1..=1, Json::<Resize>::new(), |job: Resize, ctx| async move {
//!         if job.width == 0 {
//!             return Err(HandlerError::reject("width 0"));
//!         }
//!         println!("resizing {} for {}", job.image, ctx.msg_id());
//!         Ok(())
//!     })
//!     .build()
//!     .await?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let running = tokio::spawn(worker.run_until(async { let _ = stopped.await; }));
//!
//! let producer = Producer::builder(client, "images").producer_id("api-1").build().await?;
//! let job = Resize { image: "cat.png".into(), width: 640 };
//! let receipt = producer
//!     .send(OutgoingMessage::encode("acme.Resize", 1, &Json::new(), &job)?)
//!     .await?;
//! println!("stored at {}", receipt.stream_sequence);
//! producer.close().await;
//! let _ = stop.send(());
//! running.await??;
//! # Ok(()) }
//! ```
//!
//! The queue must be provisioned first (streams, consumers and buckets of §2): with
//! [`provision`] (`sluice::provision(&js, "images", &QueueConfig::default())`), `scripts/sluice
//! apply`, or the Java `Sluice.provision`.
//!
//! A [`Worker`] is a *full worker* (§11): besides the reconciler (on by default,
//! [`WorkerBuilder::reconciler`]) it has the shared idempotency store
//! ([`WorkerBuilder::shared_idempotency`]), the circuit breaker ([`WorkerBuilder::circuit_breaker`],
//! on by default) and the latency-target capacity ([`WorkerBuilder::latency_target`]).
#![warn(missing_docs)]

#[allow(missing_docs)]
mod adverts;
#[allow(missing_docs)]
mod backoff;
#[allow(missing_docs)]
mod breaker;
mod codec;
#[allow(missing_docs)]
mod credits;
mod decimal;
#[allow(missing_docs)]
mod dlq;
mod error;
#[allow(missing_docs)]
mod events;
#[allow(missing_docs)]
mod fairness;
#[allow(missing_docs)]
mod fleet;
mod handler;
#[allow(missing_docs)]
mod headers;
#[allow(missing_docs)]
mod idempotency;
mod idstore;
#[allow(missing_docs)]
mod jsutil;
#[allow(missing_docs)]
mod names;
#[allow(missing_docs)]
mod outcome;
#[allow(missing_docs)]
mod problem;
mod producer;
mod producer_api;
#[allow(missing_docs)]
mod proto;
mod provision;
#[allow(missing_docs)]
mod pushback;
#[allow(missing_docs)]
mod ratelimit;
mod reconciler;
#[allow(missing_docs)]
mod schedule;
#[allow(missing_docs)]
mod schedule_role;
#[allow(missing_docs)]
mod size;
#[allow(missing_docs)]
mod trace;
mod worker;
mod worker_api;
mod worker_event;

pub use codec::{Codec, Json, Protobuf};
pub use error::{CodecError, CreditTimeoutReason, DeadLetterReason, Error, Result};
pub use handler::{HandlerError, HandlerResult, MessageContext, Middleware, Next};
pub use producer_api::{
    OutgoingMessage, Producer, ProducerBuilder, ProducerEvent, SendReceipt, VersionPolicy,
};
pub use provision::{provision, QueueConfig};
pub use trace::TraceParent;
pub use worker_api::{NakReason, PushbackPolicy, Worker, WorkerBuilder, WorkerEvent};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The protocol revision this crate implements (`Sluice-Protocol`).
pub const PROTOCOL_VERSION: u32 = 1;
/// The `language` reported in adverts and reports.
pub const LANGUAGE: &str = "rust";

/// Milliseconds since the Unix epoch.
pub(crate) fn now_unix_ms() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The protocol's pure rules and the conformance peer's plumbing, for this crate's own tests and
/// the `sluice-peer-rust` binary. Not part of the API: it may change in any release.
#[doc(hidden)]
#[allow(missing_docs)]
pub mod __internal {
    pub mod backoff {
        pub use crate::backoff::*;
    }
    pub mod credits {
        pub use crate::credits::*;
    }
    pub mod dlq {
        pub use crate::dlq::*;
    }
    pub mod events {
        pub use crate::events::*;
    }
    pub mod fairness {
        pub use crate::fairness::*;
    }
    pub mod pushback {
        pub use crate::pushback::*;
    }
    pub mod ratelimit {
        pub use crate::ratelimit::*;
    }
    pub mod headers {
        pub use crate::headers::*;
    }
    pub mod idempotency {
        pub use crate::idempotency::*;
    }
    pub mod idstore {
        pub use crate::idstore::*;
    }
    pub mod breaker {
        pub use crate::breaker::*;
    }
    pub mod jsutil {
        pub use crate::jsutil::*;
    }
    pub mod names {
        pub use crate::names::*;
    }
    pub mod outcome {
        pub use crate::outcome::*;
    }
    pub mod problem {
        pub use crate::problem::*;
    }
    pub mod proto {
        pub use crate::proto::*;
    }
    pub mod schedule {
        pub use crate::schedule::*;
    }
    pub mod schedule_role {
        pub use crate::schedule_role::*;
    }
    pub mod size {
        pub use crate::size::*;
    }
    pub mod trace {
        pub use crate::trace::*;
    }
    pub fn now_unix_ms() -> i64 {
        crate::now_unix_ms()
    }
}
