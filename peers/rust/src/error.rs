//! The crate's error type and the reason enums it carries.

use std::fmt;
use std::time::Duration;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in a producer, a worker or a builder.
///
/// Every message says what to do next. Match on the variant to react in code; a
/// [`Error::CreditTimeout`] carries a [`CreditTimeoutReason`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A builder option is out of range. Nothing was connected or started.
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The builder method (and command-line option) that was given a bad value.
        option: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// A stream, consumer or KV bucket the protocol needs is missing (§2): the queue has not been
    /// provisioned on this server.
    #[error("{what} is missing or unreadable ({cause}): run provisioning (sluice::provision, scripts/sluice apply or the Java Sluice.provision)")]
    NotProvisioned {
        /// The missing resource, e.g. `stream SLUICE_WORK_orders`.
        what: String,
        /// The server's answer.
        cause: String,
    },
    /// A send waited its whole acquire timeout for a credit (§6 step 8).
    #[error("send of {msg_id} waited {} ms for a credit: {reason}{}", waited.as_millis(), detail_suffix(detail))]
    CreditTimeout {
        /// The `Nats-Msg-Id` of the message that was not sent.
        msg_id: String,
        /// How long the send waited.
        waited: Duration,
        /// Why no credit came.
        reason: CreditTimeoutReason,
        /// Extra detail, e.g. the live window.
        detail: String,
    },
    /// [`provision`](crate::provision) could not create or write part of a queue's topology.
    #[error("provisioning {what} of queue {queue} failed: {cause}; check that the connection has the operator role's JetStream permissions (PROTOCOL.md §2.1)")]
    Provision {
        /// The queue being provisioned.
        queue: String,
        /// The part that failed, e.g. `the work stream`.
        what: String,
        /// The server's answer.
        cause: String,
    },
    /// No live worker handles this payload type and version (§4.3, policy FAIL): deploy a worker
    /// that handles it, or send a version the live workers handle.
    #[error("version not handled: no live worker handles {type_name} version {version} (live workers handle: {})", live.join(", "))]
    VersionNotHandled {
        /// The payload type.
        type_name: String,
        /// The schema version that was refused.
        version: u32,
        /// What the live workers handle, as `TYPE@MIN-MAX`.
        live: Vec<String>,
    },
    /// The message can never be stored: larger than the stream or the server allows (§2.2).
    #[error("message {msg_id} is too large: {reason}")]
    MessageTooLarge {
        /// The message's `Nats-Msg-Id`.
        msg_id: String,
        /// Which limit it exceeds and by how much.
        reason: String,
    },
    /// A publish did not succeed within its retry horizon. The credit it reserved stays spent
    /// (the message may have been stored); retrying the send with the same id is safe.
    #[error("send of {msg_id} failed: {reason}")]
    Publish {
        /// The message's `Nats-Msg-Id`.
        msg_id: String,
        /// The last failure.
        reason: String,
    },
    /// A payload could not be encoded or decoded by its codec.
    #[error("codec error: {0}")]
    Codec(#[from] CodecError),
    /// The NATS connection or a JetStream call failed.
    #[error("NATS: {0}")]
    Nats(String),
    /// A message's fairness key breaks the format (§15.3): nothing was sent and no credit was
    /// reserved. Use 1 to 64 characters of `[A-Za-z0-9_.:@-]`, e.g. a tenant id.
    #[error("fairness key {key:?} of message {msg_id} is invalid: use 1 to 64 characters of A-Z a-z 0-9 _ . : @ -")]
    InvalidFairnessKey {
        /// The `Nats-Msg-Id` of the message that was not sent.
        msg_id: String,
        /// The key that was refused.
        key: String,
    },
    /// The producer was closed; create a new one to send again.
    #[error("the producer is closed")]
    Closed,
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

impl Error {
    pub(crate) fn invalid(option: &'static str, reason: impl Into<String>) -> Error {
        Error::InvalidOption {
            option,
            reason: reason.into(),
        }
    }

    pub(crate) fn nats(e: impl fmt::Display) -> Error {
        Error::Nats(e.to_string())
    }
}

/// A payload that its codec could not encode or decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub String);

/// Why a send got no credit within its acquire timeout (§6 step 8); the same reasons as Java's
/// `CreditTimeoutException.Reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CreditTimeoutReason {
    /// No live worker advertises capacity for the queue, and no standing buffer covers it:
    /// start a worker.
    NoLiveWorkers,
    /// Workers are live, but every credit of the window is in the backlog or held: the workers
    /// are slower than the producers (add workers or wait longer).
    AllCreditsInUse,
    /// The work stream is at its hard limit (`max_msgs`, error 10077).
    StreamAtHardLimit,
    /// Live workers exist but none is `RUNNING` and there is no standing buffer (window 0).
    NoLiveCapacity,
}

impl fmt::Display for CreditTimeoutReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CreditTimeoutReason::NoLiveWorkers => "no live workers",
            CreditTimeoutReason::AllCreditsInUse => "all credits in use",
            CreditTimeoutReason::StreamAtHardLimit => "stream at its hard limit",
            CreditTimeoutReason::NoLiveCapacity => "no live workers with capacity",
        })
    }
}

/// Why a message was dead-lettered (§8.1). [`DeadLetterReason::code`] is the
/// `Sluice-Dlq-Reason` header value, the same in every language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// A required header was absent or empty.
    MissingHeader,
    /// A required header was present but malformed.
    BadHeader,
    /// The payload was larger than the worker's limit.
    Oversize,
    /// Delivered more often than the worker allows (repeated ack timeouts).
    MaxDeliveries,
    /// No worker handled the payload type within the grace period.
    UnknownType,
    /// No worker handled the payload version within the grace period.
    UnsupportedVersion,
    /// No worker handled the protocol version within the grace period.
    UnsupportedProtocol,
    /// The payload could not be decoded.
    DecodeError,
    /// The handler rejected the message as permanently bad.
    Rejected,
    /// The handler failed on every allowed attempt.
    MaxAttempts,
}

impl DeadLetterReason {
    const ALL: [DeadLetterReason; 10] = [
        DeadLetterReason::MissingHeader,
        DeadLetterReason::BadHeader,
        DeadLetterReason::Oversize,
        DeadLetterReason::MaxDeliveries,
        DeadLetterReason::UnknownType,
        DeadLetterReason::UnsupportedVersion,
        DeadLetterReason::UnsupportedProtocol,
        DeadLetterReason::DecodeError,
        DeadLetterReason::Rejected,
        DeadLetterReason::MaxAttempts,
    ];

    /// The wire code, e.g. `max-attempts`.
    ///
    /// ```
    /// assert_eq!(sluice::DeadLetterReason::MaxAttempts.code(), "max-attempts");
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            DeadLetterReason::MissingHeader => "missing-header",
            DeadLetterReason::BadHeader => "bad-header",
            DeadLetterReason::Oversize => "oversize",
            DeadLetterReason::MaxDeliveries => "max-deliveries",
            DeadLetterReason::UnknownType => "unknown-type",
            DeadLetterReason::UnsupportedVersion => "unsupported-version",
            DeadLetterReason::UnsupportedProtocol => "unsupported-protocol",
            DeadLetterReason::DecodeError => "decode-error",
            DeadLetterReason::Rejected => "rejected",
            DeadLetterReason::MaxAttempts => "max-attempts",
        }
    }

    /// The reason with the given wire code, or `None` for a code this revision does not know.
    ///
    /// ```
    /// use sluice::DeadLetterReason;
    /// assert_eq!(DeadLetterReason::from_code("rejected"), Some(DeadLetterReason::Rejected));
    /// assert_eq!(DeadLetterReason::from_code("nope"), None);
    /// ```
    pub fn from_code(code: &str) -> Option<DeadLetterReason> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
