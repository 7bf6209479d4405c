package sluice

import (
	"errors"
	"fmt"
	"time"
)

// CreditTimeoutReason says why a send found no credit within its acquire timeout. The values are
// those of the Java library's CreditTimeoutException.Reason.
type CreditTimeoutReason string

// Why no credit came.
const (
	// NoLiveWorkers: no live worker advertises capacity for the queue and no standing buffer
	// covers it. Start a worker, or check that the workers reach this server.
	NoLiveWorkers CreditTimeoutReason = "NO_LIVE_WORKERS"
	// AllCreditsInUse: workers are live, but every credit of the window is in the backlog or held
	// by producers. The workers are slower than the producers: wait, or add workers.
	AllCreditsInUse CreditTimeoutReason = "ALL_CREDITS_IN_USE"
	// StreamAtHardLimit: the work stream is at its hard limit (max_msgs).
	StreamAtHardLimit CreditTimeoutReason = "STREAM_AT_HARD_LIMIT"
)

// ErrCreditTimeout matches every *CreditTimeoutError with errors.Is.
var ErrCreditTimeout = errors.New("sluice: credit timeout")

// CreditTimeoutError is returned by a send that waited longer than the acquire timeout for a
// credit, or that met the work stream's hard limit for that long.
type CreditTimeoutError struct {
	Reason  CreditTimeoutReason
	Queue   string
	Waited  time.Duration
	Message string
}

// Error says why no credit came and what to do.
func (e *CreditTimeoutError) Error() string {
	return fmt.Sprintf("sluice: queue %s: acquire timeout after %s (%s): %s", e.Queue, e.Waited, e.Reason, e.Message)
}

// Is makes errors.Is(err, ErrCreditTimeout) hold.
func (e *CreditTimeoutError) Is(target error) bool { return target == ErrCreditTimeout }

// ErrVersionNotHandled matches every *VersionError with errors.Is.
var ErrVersionNotHandled = errors.New("sluice: version not handled by any live worker")

// VersionError is returned by a send whose type and version no live worker handles while the
// producer's version policy is VersionFail (§4.3).
type VersionError struct {
	Queue   string
	Type    string
	Version int
	// Handled lists what the live workers handle, as TYPE@MIN-MAX.
	Handled []string
}

// Error names the type, the version and what the live workers handle.
func (e *VersionError) Error() string {
	return fmt.Sprintf("sluice: version not handled: no live worker of queue %s handles %s version %d (live workers handle: %v); deploy a worker that handles it first, or send with WithVersionPolicy(VersionWarn)",
		e.Queue, e.Type, e.Version, e.Handled)
}

// Is makes errors.Is(err, ErrVersionNotHandled) hold.
func (e *VersionError) Is(target error) bool { return target == ErrVersionNotHandled }

// ErrTopology matches every *TopologyError with errors.Is.
var ErrTopology = errors.New("sluice: topology missing")

// TopologyError says that a stream, consumer or bucket of the queue's topology (§2) is missing.
// Sluice clients create nothing: provision the queue first.
type TopologyError struct {
	Kind, Name string
	Err        error
}

// Error names what is missing and how to provision it.
func (e *TopologyError) Error() string {
	return fmt.Sprintf("sluice: %s %s: %v: run provisioning first (sluice.Provision, scripts/sluice apply or Sluice.provision)", e.Kind, e.Name, e.Err)
}

// Unwrap returns the server's error.
func (e *TopologyError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrTopology) hold.
func (e *TopologyError) Is(target error) bool { return target == ErrTopology }

// ErrRejected matches every error made by Reject with errors.Is.
var ErrRejected = errors.New("sluice: message rejected")

// RejectError is a handler's explicit rejection: the message is dead-lettered with reason
// "rejected" at once, without retries (§7.2).
type RejectError struct{ Err error }

// Error is the handler's reason.
func (e *RejectError) Error() string { return "rejected: " + e.Err.Error() }

// Unwrap returns the handler's reason.
func (e *RejectError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrRejected) hold.
func (e *RejectError) Is(target error) bool { return target == ErrRejected }

// Reject wraps err so that a handler returning it dead-letters the message ("rejected") instead
// of retrying it. Any other non-nil error retries with backoff until max attempts.
func Reject(err error) error {
	if err == nil {
		err = errors.New("rejected by the handler")
	}
	return &RejectError{Err: err}
}

// DecodeError is a payload that its codec cannot decode; the worker dead-letters it with reason
// "decode-error" (§7.2 step 6). A codec may return one to say so explicitly.
type DecodeError struct{ Err error }

// Error is the codec's error.
func (e *DecodeError) Error() string { return "payload does not decode: " + e.Err.Error() }

// Unwrap returns the codec's error.
func (e *DecodeError) Unwrap() error { return e.Err }

// ErrClosed is returned by a send on a closed producer.
var ErrClosed = errors.New("sluice: producer closed")

// ConfigError is an invalid option, found at construction.
type ConfigError struct {
	Option string
	Reason string
}

// Error names the option and what it needs.
func (e *ConfigError) Error() string { return "sluice: " + e.Option + ": " + e.Reason }

func configErr(option, format string, args ...any) error {
	return &ConfigError{Option: option, Reason: fmt.Sprintf(format, args...)}
}

// ErrOverloaded matches every error made by Overloaded with errors.Is.
var ErrOverloaded = errors.New("sluice: downstream overloaded")

// OverloadedError is a handler's pushback (PROTOCOL.md §15.1): the system the handler calls is
// overloaded (an HTTP 429 or 503, a full pool). It is neither a success nor a failure: the worker
// keeps the delivery in hand, runs the handler again on it after RetryAfter (or, when RetryAfter
// is 0, after the worker's backoff for the n-th pushback of that delivery), counts no attempt,
// never dead-letters it, and lowers its advertised capacity (WithPushback).
type OverloadedError struct {
	// RetryAfter is how long the delivery waits before the handler runs again; 0: the backoff.
	RetryAfter time.Duration
	// Err is the downstream's error, if any.
	Err error
}

// Error says that the downstream is overloaded, and why when known.
func (e *OverloadedError) Error() string {
	s := "downstream overloaded"
	if e.RetryAfter > 0 {
		s += ", retry after " + e.RetryAfter.String()
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the downstream's error.
func (e *OverloadedError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrOverloaded) hold.
func (e *OverloadedError) Is(target error) bool { return target == ErrOverloaded }

// Overloaded is a handler's answer when its downstream is overloaded (§15.1): the worker holds
// the delivery and runs the handler again after retryAfter (0 or less: after the backoff for the
// n-th pushback of the delivery), without counting an attempt, and lowers its capacity. It is
// found with errors.As or errors.Is(err, ErrOverloaded) also when middleware wraps it.
func Overloaded(retryAfter time.Duration) error {
	return &OverloadedError{RetryAfter: max(retryAfter, 0)}
}

// OverloadedBy is Overloaded with the downstream's error, kept for logs and errors.Is.
func OverloadedBy(err error, retryAfter time.Duration) error {
	return &OverloadedError{RetryAfter: max(retryAfter, 0), Err: err}
}
