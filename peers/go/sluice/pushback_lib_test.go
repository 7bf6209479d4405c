package sluice_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicepb"
)

// advertOf reads a worker's capacity advert, nil while there is none.
func advertOf(ctx context.Context, kv jetstream.KeyValue, queue, id string) *sluicepb.CapacityAdvert {
	e, err := kv.Get(ctx, sluice.CapacityKey(queue, id))
	if err != nil {
		return nil
	}
	a, err := sluice.DecodeAdvert(e.Value())
	if err != nil {
		return nil
	}
	return a
}

// fastPushback decreases and increases every 200 ms, so a test sees the AIMD within seconds.
var fastPushback = sluice.PushbackPolicy{Decrease: 0.5, Floor: 1, DecreaseIntervalMs: 200, IncreaseIntervalMs: 200}

// A handler that pushes back (Overloaded, here wrapped by middleware) while its downstream is
// overloaded: the deliveries are held, never NAKed nor dead-lettered, and processed on attempt 1
// once the downstream recovers; meanwhile the advert's capacity falls to the floor (1) with the
// nominal capacity beside it, at most that many handlers run at once, and the capacity grows
// back to the configured one afterwards.
func TestPushbackHoldsDeliveriesAndLowersTheCapacity(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	queue := fresh("pushback")
	if err := sluice.Provision(ctx, js, queue, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	var overloaded atomic.Bool
	overloaded.Store(true)
	var running, maxRunning, runs atomic.Int64
	w, err := sluice.NewWorker(ctx, nc, queue, quiet, sluice.WithWorkerID("pb1"), sluice.WithObserver(ev.observe),
		sluice.WithConcurrency(4), sluice.WithWorkerPrefetch(4), sluice.WithHeartbeat(100*time.Millisecond, time.Second),
		// One attempt and a breaker that opens on the first failure: a pushback counted as
		// either would dead-letter the message or open the circuit.
		sluice.WithMaxAttempts(1), sluice.WithCircuitBreaker(1, 1, time.Minute),
		sluice.WithBackoff(sluice.Backoff{InitialMs: 20, Multiplier: 1, MaxDelayMs: 20}),
		sluice.WithPushback(fastPushback),
		sluice.WithMiddleware(func(next sluice.Next) sluice.Next {
			return func(ctx context.Context, m *sluice.Msg) error {
				if err := next(ctx, m); err != nil {
					return fmt.Errorf("calling the downstream for %s: %w", m.ID, err)
				}
				return nil
			}
		}),
		sluice.Handle("test.P", 1, 1, sluice.JSON[int](), func(ctx context.Context, _ int, m *sluice.Msg) error {
			n := running.Add(1)
			defer running.Add(-1)
			for {
				old := maxRunning.Load()
				if n <= old || maxRunning.CompareAndSwap(old, n) {
					break
				}
			}
			runs.Add(1)
			time.Sleep(2 * time.Millisecond) // the downstream call
			if overloaded.Load() {
				return sluice.Overloaded(0)
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	p, err := sluice.NewProducer(ctx, nc, queue, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for i := 0; i < 8; i++ {
		m, _ := sluice.NewMessage(sluice.JSON[int](), fmt.Sprintf("pb-%d", i), "test.P", 1, i)
		if _, err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	kv, _ := js.KeyValue(ctx, sluice.CapacityBucket)
	var lowered *sluicepb.CapacityAdvert
	eventually(t, 10*time.Second, "the capacity lowered to the floor", func() bool {
		lowered = advertOf(ctx, kv, queue, "pb1")
		return lowered != nil && lowered.GetCapacity() == 1
	})
	if lowered.GetNominalCapacity() != 8 || lowered.GetPushbacksTotal() == 0 || lowered.GetPushbackDecreasesTotal() < 3 ||
		lowered.GetLoweredSinceUnixMs() == 0 {
		t.Errorf("lowered advert: nominal %d, pushbacks %d, decreases %d, lowered since %d", lowered.GetNominalCapacity(),
			lowered.GetPushbacksTotal(), lowered.GetPushbackDecreasesTotal(), lowered.GetLoweredSinceUnixMs())
	}
	// At the floor, one handler at a time: count the runs from now on.
	maxRunning.Store(running.Load())
	from := runs.Load()
	eventually(t, 10*time.Second, "20 more runs at the floor", func() bool { return runs.Load() >= from+20 })
	if got := maxRunning.Load(); got != 1 {
		t.Errorf("%d handlers ran at once at a capacity of 1", got)
	}
	if got := len(ev.processed()); got != 0 {
		t.Fatalf("%d processed while overloaded", got)
	}

	overloaded.Store(false)
	eventually(t, 20*time.Second, "all 8 processed", func() bool { return len(ev.processed()) == 8 })
	for id, pr := range ev.processed() {
		if pr.Attempt != 1 {
			t.Errorf("%s processed on attempt %d: a pushback counted a delivery", id, pr.Attempt)
		}
	}
	ev.mu.Lock()
	pushedBack := 0
	for _, e := range ev.all {
		switch e := e.(type) {
		case *sluice.Nacked, *sluice.DeadLettered, *sluice.CircuitChanged:
			t.Errorf("a pushback caused %T %+v", e, e)
		case *sluice.PushedBack:
			pushedBack++
			if e.Attempt != 1 || e.Delay != 20*time.Millisecond {
				t.Errorf("pushed back: %+v", e)
			}
		}
	}
	ev.mu.Unlock()
	if pushedBack == 0 {
		t.Error("no PushedBack event")
	}
	eventually(t, 10*time.Second, "the capacity back at 8, not lowered, every pushback counted", func() bool {
		a := advertOf(ctx, kv, queue, "pb1")
		return a != nil && a.GetCapacity() == 8 && a.GetNominalCapacity() == 8 && a.GetLoweredSinceUnixMs() == 0 &&
			a.GetPushbacksTotal() == uint64(pushedBack)
	})
}

// With WithoutPushback the capacity stays the configured one, but a pushback is still held and
// retried without counting an attempt, with the handler's retry-after.
func TestWithoutPushbackKeepsTheCapacityButStillHolds(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	queue := fresh("nopushback")
	if err := sluice.Provision(ctx, js, queue, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	var runs atomic.Int64
	w, err := sluice.NewWorker(ctx, nc, queue, quiet, sluice.WithWorkerID("nopb1"), sluice.WithObserver(ev.observe),
		sluice.WithConcurrency(2), sluice.WithWorkerPrefetch(2), sluice.WithMaxAttempts(1), sluice.WithoutPushback(),
		sluice.Handle("test.P", 1, 1, sluice.JSON[int](), func(context.Context, int, *sluice.Msg) error {
			if runs.Add(1) <= 5 {
				return sluice.Overloaded(30 * time.Millisecond)
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	p, err := sluice.NewProducer(ctx, nc, queue, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	m, _ := sluice.NewMessage(sluice.JSON[int](), "nopb-1", "test.P", 1, 1)
	if _, err := p.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "processed", func() bool { return len(ev.processed()) == 1 })
	if pr := ev.processed()["nopb-1"]; pr.Attempt != 1 || runs.Load() != 6 {
		t.Errorf("processed on attempt %d after %d runs, want 1 after 6", pr.Attempt, runs.Load())
	}
	kv, _ := js.KeyValue(ctx, sluice.CapacityBucket)
	eventually(t, 5*time.Second, "an advert with 5 pushbacks and no decrease", func() bool {
		a := advertOf(ctx, kv, queue, "nopb1")
		return a != nil && a.GetPushbacksTotal() == 5 && a.GetCapacity() == 4 && a.GetNominalCapacity() == 4 &&
			a.GetPushbackDecreasesTotal() == 0 && a.GetLoweredSinceUnixMs() == 0
	})
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, e := range ev.all {
		if pb, ok := e.(*sluice.PushedBack); ok && pb.Delay != 30*time.Millisecond {
			t.Errorf("pushed back with delay %s, want the retry-after 30ms", pb.Delay)
		}
	}
}

// A delivery held for a pushback when the worker stops goes back at once with a NAK.
func TestHeldPushbackIsNakedAtShutdown(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	queue := fresh("pushback-stop")
	if err := sluice.Provision(ctx, js, queue, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	w, err := sluice.NewWorker(ctx, nc, queue, quiet, sluice.WithObserver(ev.observe),
		sluice.Handle("test.P", 1, 1, sluice.JSON[int](), func(context.Context, int, *sluice.Msg) error {
			return sluice.Overloaded(time.Hour)
		}))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(wctx) }()
	p, err := sluice.NewProducer(ctx, nc, queue, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	m, _ := sluice.NewMessage(sluice.JSON[int](), "held-1", "test.P", 1, 1)
	if _, err := p.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "a pushback", func() bool {
		ev.mu.Lock()
		defer ev.mu.Unlock()
		for _, e := range ev.all {
			if _, ok := e.(*sluice.PushedBack); ok {
				return true
			}
		}
		return false
	})
	start := time.Now()
	stop()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %s with a delivery held for an hour", d)
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var nak *sluice.Nacked
	for _, e := range ev.all {
		if n, ok := e.(*sluice.Nacked); ok {
			nak = n
		}
	}
	if nak == nil || nak.Reason != "shutdown" || nak.Delay < 59*time.Minute {
		t.Errorf("held delivery at shutdown: %+v, want a shutdown NAK with the rest of the hour", nak)
	}
}

func TestOverloadedIsFoundThroughWrapping(t *testing.T) {
	err := fmt.Errorf("middleware: %w", sluice.OverloadedBy(errors.New("HTTP 503"), 2*time.Second))
	var ov *sluice.OverloadedError
	if !errors.As(err, &ov) || ov.RetryAfter != 2*time.Second || !errors.Is(err, sluice.ErrOverloaded) {
		t.Fatalf("%v: not an overloaded error with its retry-after", err)
	}
	if !strings.Contains(err.Error(), "HTTP 503") || !strings.Contains(err.Error(), "retry after 2s") {
		t.Errorf("message %q", err.Error())
	}
	if sluice.Overloaded(-time.Second).(*sluice.OverloadedError).RetryAfter != 0 {
		t.Error("a negative retry-after is not the backoff")
	}
}

func TestPushbackPolicyIsValidatedAtConstruction(t *testing.T) {
	q := fresh("pbconfig")
	ctx := context.Background()
	nc, js := connect(t)
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	h := sluice.Handle("test.C", 1, 1, sluice.JSON[int](), func(context.Context, int, *sluice.Msg) error { return nil })
	for want, p := range map[string]sluice.PushbackPolicy{
		"Decrease must be in (0, 1)":          {Decrease: 1, Floor: 1, DecreaseIntervalMs: 1, IncreaseIntervalMs: 1},
		"Floor must be at least 1":            {Decrease: 0.5, Floor: 0, DecreaseIntervalMs: 1, IncreaseIntervalMs: 1},
		"IncreaseIntervalMs must be positive": {Decrease: 0.5, Floor: 1, DecreaseIntervalMs: 1, IncreaseIntervalMs: 0},
	} {
		_, err := sluice.NewWorker(ctx, nc, q, h, sluice.WithPushback(p))
		var ce *sluice.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithPushback" || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: error %v, want a WithPushback error containing %q", p, err, want)
		}
	}
}
