// Package sluice is the Go library of Sluice, a durable work queue on NATS JetStream with
// credit-based flow control, and the implementation of its protocol sluice/v1
// (protocol/PROTOCOL.md) that the Java and Rust libraries also implement, so Go, Java and Rust
// services share one queue.
//
// A Producer sends work messages; each Send waits for a credit, so producers never bury workers
// that are slower than they are (NewProducer, Producer.Send, SendAsync, SendBatch, with
// *CreditTimeoutError saying why no credit came). A Worker runs typed handlers registered with
// Handle, decoded by a Codec (JSON or Protobuf), with upcasters for older schema versions,
// middleware, retries with backoff, dead letters and a local idempotency cache; it replenishes
// the credits of the messages it finishes and takes its turn as the queue's reconciler (§5.5),
// so a fleet of Go workers alone keeps its credits whole. Run stops cleanly when its context is
// cancelled. Options are validated by the constructors; errors work with errors.Is and errors.As.
//
// The same package holds the protocol's pure rules (header validation, backoff, credit
// decomposition, the window, reconciler decisions, outcomes, dead-letter headers, names), which
// the library uses and the protocol's test vectors check. They live beside the API rather than
// in a subpackage: the library needs all of them, users need some (the reason codes, Backoff,
// the names of the topology), and one import path is simpler than a split whose halves always
// travel together. Rejected: moving the rules to an internal package (users could no longer
// read a reason code constant) and a separate sluice/client package (two imports for every user).
//
// Logging goes through log/slog (WithLogger), metrics through the small Metrics interface
// (WithMetrics), trace context through W3C traceparent headers, or any Propagator such as
// OpenTelemetry's (WithPropagator), and every outcome can be observed (WithObserver).
package sluice

// Protocol is the highest Sluice-Protocol this implementation handles.
const Protocol = 1

// Header names (§3, §8).
const (
	HdrMsgID       = "Nats-Msg-Id"
	HdrProtocol    = "Sluice-Protocol"
	HdrType        = "Sluice-Type"
	HdrTypeVersion = "Sluice-Type-Version"
	HdrContentType = "Content-Type"
	HdrTraceparent = "traceparent"
	HdrTracestate  = "tracestate"
	HdrProducer    = "Sluice-Producer"
	HdrSentAt      = "Sluice-Sent-At"
	HdrReplayOf    = "Sluice-Replay-Of"

	HdrDlqReason    = "Sluice-Dlq-Reason"
	HdrDlqError     = "Sluice-Dlq-Error"
	HdrDlqAttempts  = "Sluice-Dlq-Attempts"
	HdrDlqStream    = "Sluice-Dlq-Stream"
	HdrDlqStreamSeq = "Sluice-Dlq-Stream-Seq"
	HdrDlqSubject   = "Sluice-Dlq-Subject"
	HdrDlqWorker    = "Sluice-Dlq-Worker"
	HdrDlqAt        = "Sluice-Dlq-At"
	HdrDlqMsgID     = "Sluice-Dlq-Msg-Id"
)

// Dead-letter reason codes (§8.1).
const (
	ReasonMissingHeader       = "missing-header"
	ReasonBadHeader           = "bad-header"
	ReasonOversize            = "oversize"
	ReasonMaxDeliveries       = "max-deliveries"
	ReasonUnknownType         = "unknown-type"
	ReasonUnsupportedVersion  = "unsupported-version"
	ReasonUnsupportedProtocol = "unsupported-protocol"
	ReasonDecodeError         = "decode-error"
	ReasonRejected            = "rejected"
	ReasonMaxAttempts         = "max-attempts"
)

// Reasons lists every reason code in the order of §8.1.
var Reasons = []string{
	ReasonMissingHeader, ReasonBadHeader, ReasonOversize, ReasonMaxDeliveries, ReasonUnknownType,
	ReasonUnsupportedVersion, ReasonUnsupportedProtocol, ReasonDecodeError, ReasonRejected,
	ReasonMaxAttempts,
}

// Lang is the language this library writes into adverts and reports.
const Lang = "go"
