package sluice

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
)

// Event is something a worker or producer did, passed to an Observer: *Started, *Processed,
// *DeadLettered, *Nacked, *PushedBack, *HealthChanged, *CircuitChanged, *CreditsReturned or *Audited.
type Event interface{ sluiceEvent() }

// Observer receives events. It is called synchronously on the worker's and producer's own
// goroutines, so it must be quick and safe for concurrent use.
type Observer func(Event)

// Started: a worker wrote its first capacity advert and starts pulling.
type Started struct{ WorkerID string }

// Processed: a handler succeeded and the server confirmed its ack. Acks are confirmed in batches,
// before the worker mints their credits (within the linger, at most 20 ms, or a token batch).
type Processed struct {
	WorkerID string
	MsgID    string
	Attempt  int
	TraceID  string
	Type     string
	Version  int
	// Value is what the handler was given (the decoded payload).
	Value any
}

// DeadLettered: a dead-letter record was stored and the message termed (§8).
type DeadLettered struct {
	WorkerID string
	MsgID    string
	Reason   string
	Error    string
	Attempt  int
}

// Nacked: a delivery went back to the stream to be delivered again after Delay. Reason is
// "retry" (the handler failed), "not-handled" (the grace period, §4.2), "shutdown", or
// "store-unreadable" (the shared idempotency store could not be read, §9).
type Nacked struct {
	WorkerID string
	MsgID    string
	Attempt  int
	Delay    time.Duration
	Reason   string
}

// PushedBack: a handler answered Overloaded (§15.1); the delivery is held (no NAK, no attempt)
// and its handler runs again after Delay. Pushbacks counts this delivery's pushbacks so far.
type PushedBack struct {
	WorkerID  string
	MsgID     string
	Attempt   int
	Pushbacks int
	Delay     time.Duration
}

// HealthChanged: the worker started (Failing true, with the reason) or stopped failing, e.g.
// while dead-letter records cannot be written (§8.4).
type HealthChanged struct {
	WorkerID string
	Failing  bool
	Reason   string
}

// CircuitChanged: the worker's circuit breaker opened (it pulls nothing and advertises
// CIRCUIT_OPEN with capacity 0, then probes) or closed again (§7.6).
type CircuitChanged struct {
	WorkerID string
	Open     bool
}

// CreditsReturned: a producer acked a partly spent idle token (§6.7); a reconciler mints its
// unspent credits back.
type CreditsReturned struct {
	ProducerID string
	Unspent    uint32
}

// Audited: this worker, as the queue's reconciler, audited the credits (§5.5).
type Audited struct {
	WorkerID                             string
	Window, Backlog, Tokens, Spent, Owed int64
	Deficit                              int64
	Minted, Burned, Announced            int64
}

func (*Started) sluiceEvent()         {}
func (*Processed) sluiceEvent()       {}
func (*DeadLettered) sluiceEvent()    {}
func (*Nacked) sluiceEvent()          {}
func (*PushedBack) sluiceEvent()      {}
func (*HealthChanged) sluiceEvent()   {}
func (*CreditsReturned) sluiceEvent() {}
func (*CircuitChanged) sluiceEvent()  {}
func (*Audited) sluiceEvent()         {}

// Metrics receives counters and timings; adapt it to Prometheus, OpenTelemetry or anything
// else. Implementations must be safe for concurrent use. Names are the Metric* constants.
type Metrics interface {
	// Add adds delta to the counter name.
	Add(name string, delta int64)
	// Observe records one duration of the timer name.
	Observe(name string, d time.Duration)
}

// Metric names.
const (
	MetricSent         = "sluice.sent"           // counter: messages stored by a producer
	MetricCreditWait   = "sluice.credit.wait"    // timer: how long a send waited for a credit
	MetricProcessed    = "sluice.processed"      // counter: handler successes acked
	MetricRetried      = "sluice.retried"        // counter: handler failures NAKed for a retry
	MetricDeadLettered = "sluice.dead_lettered"  // counter: messages dead-lettered
	MetricDuplicates   = "sluice.duplicates"     // counter: duplicates acked without a handler
	MetricHandler      = "sluice.handler"        // timer: handler duration
	MetricMinted       = "sluice.credits.minted" // counter: credits minted by a worker
	MetricPushbacks    = "sluice.pushbacks"      // counter: handler pushbacks held for a retry (§15.1)
)

type noMetrics struct{}

func (noMetrics) Add(string, int64)             {}
func (noMetrics) Observe(string, time.Duration) {}

// Propagator carries trace context in message headers (§10). Without one, a producer writes a
// fresh W3C traceparent per message (continuing the trace of a handler's context, see
// TraceFromContext) and a worker continues the message's trace. A fresh trace of a producer
// without a Propagator is unsampled (flags 00): nothing records it, and nats-server 2.11+ parses
// the headers of every message with a sampled traceparent for its own message tracing. To use
// OpenTelemetry, wrap otel.GetTextMapPropagator() with a carrier on nats.Header (see the README).
type Propagator interface {
	// Inject writes the trace context of ctx into h.
	Inject(ctx context.Context, h nats.Header)
	// Extract returns ctx with the trace context of h.
	Extract(ctx context.Context, h nats.Header) context.Context
}

type traceKey struct{}

// TraceContext is the W3C trace a handler runs in (§10).
type TraceContext struct {
	TraceID, SpanID string
	// Continued is false when the message carried no valid traceparent and a new trace began.
	Continued bool
}

// TraceFromContext returns the trace a handler's ctx runs in. A producer that sends from that
// ctx continues the trace.
func TraceFromContext(ctx context.Context) (TraceContext, bool) {
	t, ok := ctx.Value(traceKey{}).(TraceContext)
	return t, ok
}

// ContextWithTrace returns ctx carrying t.
func ContextWithTrace(ctx context.Context, t TraceContext) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// HeaderCarrier adapts message headers to OpenTelemetry's propagation.TextMapCarrier (Get, Set,
// Keys) without this module depending on OpenTelemetry; see the README for a Propagator built
// on otel.GetTextMapPropagator(). Keys are used as given: W3C names are lowercase.
type HeaderCarrier nats.Header

// Get returns the first value of key.
func (c HeaderCarrier) Get(key string) string { return First(c, key) }

// Set replaces the values of key.
func (c HeaderCarrier) Set(key, value string) { c[key] = []string{value} }

// Keys lists the header names.
func (c HeaderCarrier) Keys() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	return out
}
