package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"sluice.dev/peers/go/sluice"
)

// WorkerConfig holds a worker's command-line settings (peers/README.md).
type WorkerConfig struct {
	Server, Queue, WorkerID string
	Concurrency, Prefetch   int
	WorkMs                  int
	// OverloadedFor: the handler answers overloaded until this long after start (§15.1).
	OverloadedFor time.Duration
	// FailFirst: the handler fails its first FailFirst runs, whatever the message (a handler
	// failure, which the circuit breaker counts: §7.6).
	FailFirst int64
	// Breaker, when set, replaces the library's default circuit breaker (failures of window,
	// delay).
	Breaker    *Breaker
	Handles    []sluice.HandledType
	Settings   sluice.WorkerSettings
	TokenBatch uint32
	// Capacity overrides the static capacity concurrency + prefetch when > 0.
	Capacity uint32
	// Reconciler lets the worker run the reconciler (§5.5), audit interval AuditInterval.
	Reconciler    bool
	AuditInterval time.Duration
}

// Breaker is a circuit breaker's settings (§7.6): open when at least Failures of the last Window
// handler runs failed, probe after Delay.
type Breaker struct {
	Failures, Window int
	Delay            time.Duration
}

// DefaultWorkerConfig returns the contract's defaults.
func DefaultWorkerConfig() WorkerConfig {
	s := sluice.DefaultWorkerSettings
	s.MaxAttempts = 3
	s.GraceMs = 3000
	s.GraceDelayMs = 500
	s.Backoff.InitialMs = 100
	return WorkerConfig{
		Concurrency: 4, Prefetch: 4,
		Handles:    []sluice.HandledType{{Type: "sluice.conformance.Work", MinVersion: 1, MaxVersion: 1}},
		Settings:   s,
		TokenBatch: 8, AuditInterval: time.Second,
	}
}

// Work is the conformance payload (peers/README.md).
type Work struct {
	Seq      int64  `json:"seq"`
	Behavior string `json:"behavior"`
}

// workCodec is JSON that refuses anything but a conformance Work object (a decode-error).
type workCodec struct{}

func (workCodec) ContentType() string           { return "application/json" }
func (workCodec) Encode(v Work) ([]byte, error) { return json.Marshal(v) }
func (workCodec) Decode(b []byte) (Work, error) {
	var body struct {
		Seq      *int64 `json:"seq"`
		Behavior string `json:"behavior"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return Work{}, err
	}
	if body.Seq == nil || (body.Behavior != "ok" && body.Behavior != "poison" && body.Behavior != "fail-once") {
		return Work{}, errors.New("payload is not a conformance Work object")
	}
	return Work{Seq: *body.Seq, Behavior: body.Behavior}, nil
}

// Worker is the contract's worker role on the library's sluice.Worker.
type Worker struct {
	nc        *nats.Conn
	w         *sluice.Worker
	id        string
	ev        *Events
	processed atomic.Int64
}

// NewWorker connects and builds the library worker (which checks the topology).
func NewWorker(ctx context.Context, cfg WorkerConfig, ev *Events) (*Worker, error) {
	nc, err := connect(cfg.Server, "sluice-peer-go worker "+cfg.WorkerID)
	if err != nil {
		return nil, err
	}
	pw := &Worker{nc: nc, id: cfg.WorkerID, ev: ev}
	workMs := time.Duration(cfg.WorkMs) * time.Millisecond
	overloadedUntil := time.Now().Add(cfg.OverloadedFor)
	var runs atomic.Int64
	handler := func(ctx context.Context, v Work, m *sluice.Msg) error {
		if workMs > 0 {
			select {
			case <-time.After(workMs):
			case <-ctx.Done():
			}
		}
		switch {
		case time.Now().Before(overloadedUntil): // §15.1: a pushback, retried after the backoff
			return sluice.Overloaded(0)
		case runs.Add(1) <= cfg.FailFirst: // §7.6: a failure the circuit breaker counts
			return errors.New("--fail-first: the dependency is down")
		case v.Behavior == "poison":
			return sluice.Reject(errors.New("poison message rejected by the handler"))
		case v.Behavior == "fail-once" && m.Attempt <= 1:
			return errors.New("fail-once: failing on delivery 1")
		}
		// Printed when the handler returns, as the Java peer does (the library acks right after):
		// the library's Processed event waits for the ack's confirmation (up to a linger), so a
		// worker killed in between would leave an acked message without an outcome.
		pw.processed.Add(1)
		trace, _ := sluice.TraceFromContext(ctx)
		ev.Emit(ProcessedEvent{Event: "processed", ID: pw.id, MsgID: m.ID, Seq: v.Seq, Attempt: m.Attempt,
			TraceID: trace.TraceID, Type: m.Type, Version: m.Version, Lang: Lang})
		return nil
	}
	opts := []sluice.WorkerOption{
		sluice.WithWorkerID(cfg.WorkerID), sluice.WithConcurrency(cfg.Concurrency), sluice.WithWorkerPrefetch(cfg.Prefetch),
		sluice.WithMaxAttempts(cfg.Settings.MaxAttempts), sluice.WithBackoff(cfg.Settings.Backoff),
		sluice.WithGrace(time.Duration(cfg.Settings.GraceMs)*time.Millisecond, time.Duration(cfg.Settings.GraceDelayMs)*time.Millisecond),
		sluice.WithTokenBatch(cfg.TokenBatch), sluice.WithReconciler(cfg.Reconciler),
		sluice.WithObserver(workerEvents(ev)),
	}
	if cfg.Reconciler {
		opts = append(opts, sluice.WithAuditInterval(cfg.AuditInterval))
	}
	if cfg.Breaker != nil {
		opts = append(opts, sluice.WithCircuitBreaker(cfg.Breaker.Failures, cfg.Breaker.Window, cfg.Breaker.Delay))
	}
	if cfg.Capacity > 0 {
		opts = append(opts, sluice.WithCapacity(cfg.Capacity))
	}
	for _, h := range cfg.Handles {
		opts = append(opts, sluice.Handle[Work](h.Type, h.MinVersion, h.MaxVersion, workCodec{}, handler))
	}
	w, err := sluice.NewWorker(ctx, nc, cfg.Queue, opts...)
	if err != nil {
		nc.Close()
		return nil, err
	}
	pw.w, pw.id = w, w.ID()
	return pw, nil
}

// workerEvents turns the library's events into the contract's JSON lines.
func workerEvents(ev *Events) sluice.Observer {
	return func(e sluice.Event) {
		switch e := e.(type) {
		case *sluice.Started:
			ev.Emit(ReadyEvent{Event: "ready", Role: "worker", ID: e.WorkerID, Lang: Lang})
		case *sluice.DeadLettered:
			ev.Emit(DeadLetteredEvent{Event: "dead_lettered", ID: e.WorkerID, MsgID: e.MsgID, Reason: e.Reason, Attempt: e.Attempt, Lang: Lang})
		case *sluice.Nacked:
			if e.Reason != "shutdown" { // the contract's reasons are retry and not-handled
				ev.Emit(NakEvent{Event: "nak", ID: e.WorkerID, MsgID: e.MsgID, Attempt: e.Attempt, DelayMs: e.Delay.Milliseconds(), Reason: e.Reason})
			}
		case *sluice.HealthChanged:
			status := "ok"
			if e.Failing {
				status = "failing"
			}
			ev.Emit(HealthEvent{Event: "health", ID: e.WorkerID, Status: status, Reason: e.Reason})
		}
	}
}

// Run works until ctx is cancelled, shuts down cleanly (§7.6) and prints done.
func (w *Worker) Run(ctx context.Context) error {
	defer w.nc.Close()
	if err := w.w.Run(ctx); err != nil {
		return fmt.Errorf("worker %s: %w", w.id, err)
	}
	n := w.processed.Load()
	w.ev.Emit(DoneEvent{Event: "done", ID: w.id, Processed: &n})
	return nil
}
