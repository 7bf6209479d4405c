// Package sluice implements the pure rules of the Sluice protocol sluice/v1
// (protocol/PROTOCOL.md): header validation, backoff, credit decomposition, the window,
// reconciler decisions, id-keys, delivery outcomes, dead-letter and replay headers, names and
// control-message encoding.
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
