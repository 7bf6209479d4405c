package sluice_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice.dev/peers/go/sluice"
)

var quiet = sluice.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// events collects a worker's events.
type events struct {
	mu  sync.Mutex
	all []sluice.Event
}

func (e *events) observe(ev sluice.Event) { e.mu.Lock(); e.all = append(e.all, ev); e.mu.Unlock() }

func (e *events) deadLettered() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]string{}
	for _, ev := range e.all {
		if d, ok := ev.(*sluice.DeadLettered); ok {
			out[d.MsgID] = d.Reason
		}
	}
	return out
}

func (e *events) processed() map[string]*sluice.Processed {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]*sluice.Processed{}
	for _, ev := range e.all {
		if p, ok := ev.(*sluice.Processed); ok {
			out[p.MsgID] = p
		}
	}
	return out
}

type order struct {
	ID       string `json:"id"`
	Currency string `json:"currency"`
}

func runWorker(t *testing.T, w *sluice.Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker Run: %v", err)
		}
	})
}

// A user's handler decides each outcome: nil acks, Reject dead-letters at once, an error
// retries until max attempts; payloads that do not decode are dead-lettered decode-error, and
// version 1 is upcast to the version 2 the handler takes.
func TestWorkerOutcomesAsAUserSeesThem(t *testing.T) {
	q := fresh("outcomes")
	ctx := context.Background()
	nc, js := connect(t)
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	var mu sync.Mutex
	attempts := map[string]int{}
	seenCurrency := map[string]string{}
	w, err := sluice.NewWorker(ctx, nc, q, quiet, sluice.WithWorkerID("lib-w1"), sluice.WithObserver(ev.observe),
		sluice.WithMaxAttempts(2), sluice.WithBackoff(sluice.Backoff{InitialMs: 10, Multiplier: 1, MaxDelayMs: 10}),
		sluice.WithMiddleware(func(next sluice.Next) sluice.Next {
			return func(ctx context.Context, m *sluice.Msg) error {
				mu.Lock()
				attempts[m.ID]++
				mu.Unlock()
				return next(ctx, m)
			}
		}),
		sluice.Handle("test.Order", 2, 2, sluice.JSON[order](), func(ctx context.Context, o order, m *sluice.Msg) error {
			mu.Lock()
			seenCurrency[m.ID] = o.Currency
			mu.Unlock()
			if _, ok := sluice.TraceFromContext(ctx); !ok {
				return sluice.Reject(errors.New("no trace in the handler's context"))
			}
			switch o.ID {
			case "reject":
				return sluice.Reject(errors.New("not for us"))
			case "fail":
				return errors.New("always fails")
			}
			return nil
		}),
		sluice.Upcast("test.Order", 1, func(b []byte) ([]byte, error) {
			return []byte(strings.Replace(string(b), "}", `,"currency":"EUR"}`, 1)), nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	p, err := sluice.NewProducer(ctx, nc, q, quiet, sluice.WithProducerID("lib-p1"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	send := func(id string, version int, body string) {
		t.Helper()
		if _, err := p.Send(ctx, sluice.Message{ID: id, Type: "test.Order", Version: version, ContentType: "application/json", Data: []byte(body)}); err != nil {
			t.Fatalf("send %s: %v", id, err)
		}
	}
	send("ok-v2", 2, `{"id":"ok","currency":"USD"}`)
	send("ok-v1", 1, `{"id":"ok"}`)
	send("reject-1", 2, `{"id":"reject"}`)
	send("fail-1", 2, `{"id":"fail"}`)
	send("junk-1", 2, `not json`)

	eventually(t, 20*time.Second, "every outcome", func() bool {
		return len(ev.processed()) == 2 && len(ev.deadLettered()) == 3
	})
	want := map[string]string{"reject-1": sluice.ReasonRejected, "fail-1": sluice.ReasonMaxAttempts, "junk-1": sluice.ReasonDecodeError}
	for id, reason := range want {
		if got := ev.deadLettered()[id]; got != reason {
			t.Errorf("%s dead-lettered %q, want %q", id, got, reason)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts["fail-1"] != 2 {
		t.Errorf("fail-1 ran %d times, want max attempts 2", attempts["fail-1"])
	}
	if seenCurrency["ok-v1"] != "EUR" || seenCurrency["ok-v2"] != "USD" {
		t.Errorf("currencies after upcasting: %v", seenCurrency)
	}
	if got := ev.processed()["ok-v1"]; got.Version != 1 || got.Value.(order).Currency != "EUR" {
		t.Errorf("processed event of ok-v1: %+v", got)
	}
}

// A producer refuses a version that no live worker handles (§4.3) with an error that says
// what to do, unless its policy allows it.
func TestProducerChecksVersionsAgainstLiveWorkers(t *testing.T) {
	q := fresh("versions")
	ctx := context.Background()
	nc, js := connect(t)
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	w, err := sluice.NewWorker(ctx, nc, q, quiet, sluice.Handle("test.V", 1, 1, sluice.JSON[map[string]any](),
		func(context.Context, map[string]any, *sluice.Msg) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	p, err := sluice.NewProducer(ctx, nc, q, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	eventually(t, 10*time.Second, "a first send", func() bool {
		_, err := p.Send(ctx, sluice.Message{ID: "v1", Type: "test.V", Version: 1, Data: []byte(`{}`)})
		return err == nil
	})
	_, err = p.Send(ctx, sluice.Message{ID: "v3", Type: "test.V", Version: 3, Data: []byte(`{}`)})
	var verr *sluice.VersionError
	if !errors.Is(err, sluice.ErrVersionNotHandled) || !errors.As(err, &verr) || verr.Version != 3 ||
		!strings.Contains(err.Error(), "deploy a worker") {
		t.Fatalf("send of an unhandled version: %v", err)
	}
	allow, err := sluice.NewProducer(ctx, nc, q, quiet, sluice.WithVersionPolicy(sluice.VersionAllow))
	if err != nil {
		t.Fatal(err)
	}
	defer allow.Close(ctx)
	if _, err := allow.Send(ctx, sluice.Message{ID: "v3-allowed", Type: "test.V", Version: 3, Data: []byte(`{}`)}); err != nil {
		t.Fatalf("VersionAllow send: %v", err)
	}
}

// Options are validated at construction, with errors that say what to do.
func TestOptionsAreValidatedAtConstruction(t *testing.T) {
	q := fresh("config")
	ctx := context.Background()
	nc, js := connect(t)
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	h := sluice.Handle("test.C", 1, 1, sluice.JSON[int](), func(context.Context, int, *sluice.Msg) error { return nil })
	cases := map[string]struct {
		err  func() error
		want string
	}{
		"no handler":  {func() error { _, err := sluice.NewWorker(ctx, nc, q); return err }, "register one with sluice.Handle"},
		"concurrency": {func() error { _, err := sluice.NewWorker(ctx, nc, q, h, sluice.WithConcurrency(0)); return err }, "at least 1"},
		"token batch": {func() error { _, err := sluice.NewWorker(ctx, nc, q, h, sluice.WithTokenBatch(3)); return err }, "power of two"},
		"bad queue":   {func() error { _, err := sluice.NewProducer(ctx, nc, "no.dots"); return err }, "invalid queue name"},
		"missing":     {func() error { _, err := sluice.NewProducer(ctx, nc, "absent"); return err }, "run provisioning first"},
		"overlap":     {func() error { _, err := sluice.NewWorker(ctx, nc, q, h, h); return err }, "overlap"},
		"producer id": {func() error {
			_, err := sluice.NewProducer(ctx, nc, q, sluice.WithProducerID("a b"))
			return err
		}, "not a valid id"},
		"heartbeat": {func() error {
			_, err := sluice.NewWorker(ctx, nc, q, h, sluice.WithHeartbeat(4*time.Second, 6*time.Second))
			return err
		}, "at most half"},
	}
	for name, c := range cases {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
	_, err := sluice.NewProducer(ctx, nc, "absent")
	if !errors.Is(err, sluice.ErrTopology) {
		t.Errorf("missing topology: %v is not ErrTopology", err)
	}
}

// SendBatch and SendAsync spend one credit per message; a worker without a standing buffer gets
// the queue's first credits from the reconciler.
func TestBatchAndAsyncSends(t *testing.T) {
	q := fresh("batch")
	ctx := context.Background()
	nc, js := connect(t)
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	w, err := sluice.NewWorker(ctx, nc, q, quiet, sluice.WithObserver(ev.observe), sluice.Handle("test.B", 1, 1,
		sluice.JSON[int](), func(context.Context, int, *sluice.Msg) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	p, err := sluice.NewProducer(ctx, nc, q, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	var msgs []sluice.Message
	for i := 0; i < 40; i++ {
		m, _ := sluice.NewMessage(sluice.JSON[int](), fmt.Sprintf("b-%d", i), "test.B", 1, i)
		msgs = append(msgs, m)
	}
	res, err := p.SendBatch(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.MsgID != msgs[i].ID || r.StreamSeq == 0 {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	pending := p.SendAsync(ctx, sluice.Message{ID: "async-1", Type: "test.B", Version: 1, Data: []byte("41")})
	if r, err := pending.Wait(ctx); err != nil || r.MsgID != "async-1" {
		t.Fatalf("async send: %+v %v", r, err)
	}
	eventually(t, 20*time.Second, "41 messages processed", func() bool { return len(ev.processed()) == 41 })
}

// With a latency target the advert's capacity follows the service rate (§5.2): before any
// message it is concurrency + 2b'.
func TestLatencyTargetCapacityIsAdvertised(t *testing.T) {
	q := fresh("latency")
	ctx := context.Background()
	nc, js := connect(t)
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	w, err := sluice.NewWorker(ctx, nc, q, quiet, sluice.WithWorkerID("lt1"), sluice.WithConcurrency(2),
		sluice.WithWorkerPrefetch(2), sluice.WithLatencyTarget(time.Second, 100),
		sluice.Handle("test.L", 1, 1, sluice.JSON[int](), func(context.Context, int, *sluice.Msg) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	kv, _ := js.KeyValue(ctx, sluice.CapacityBucket)
	eventually(t, 5*time.Second, "the advert", func() bool {
		e, err := kv.Get(ctx, sluice.CapacityKey(q, "lt1"))
		if err != nil {
			return false
		}
		a, _ := sluice.DecodeAdvert(e.Value())
		// b' = min(32, the largest power of two ≤ (2 + 2) / 2) = 2: capacity 2 + 2 × 2.
		return a.GetCapacity() == 6 && a.GetTokenBatch() == 2
	})
	if _, err := sluice.NewWorker(ctx, nc, q, sluice.WithLatencyTarget(time.Second, 100), sluice.WithCapacity(8),
		sluice.Handle("test.L", 1, 1, sluice.JSON[int](), func(context.Context, int, *sluice.Msg) error { return nil })); err == nil ||
		!strings.Contains(err.Error(), "choose one") {
		t.Errorf("latency target with a fixed capacity: %v", err)
	}
}

// With the shared idempotency store a message another worker already processed is acked
// without running the handler, and a processed message is recorded before its ack (§9).
func TestSharedIdempotencyStore(t *testing.T) {
	q := fresh("shared")
	ctx := context.Background()
	nc, js := connect(t)
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	processed, err := js.KeyValue(ctx, sluice.ProcessedBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := processed.Create(ctx, q+"."+sluice.IDKey("done-elsewhere"), []byte("other-worker 1")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ran := map[string]bool{}
	w, err := sluice.NewWorker(ctx, nc, q, quiet, sluice.WithWorkerID("sh1"), sluice.WithSharedIdempotency(),
		sluice.Handle("test.S", 1, 1, sluice.JSON[int](), func(_ context.Context, _ int, m *sluice.Msg) error {
			mu.Lock()
			ran[m.ID] = true
			mu.Unlock()
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	p, err := sluice.NewProducer(ctx, nc, q, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for _, id := range []string{"done-elsewhere", "fresh"} {
		if _, err := p.Send(ctx, sluice.Message{ID: id, Type: "test.S", Version: 1, Data: []byte("1")}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "the fresh message recorded", func() bool {
		e, err := processed.Get(ctx, q+"."+sluice.IDKey("fresh"))
		return err == nil && strings.HasPrefix(string(e.Value()), "sh1 ")
	})
	ws, _ := js.Stream(ctx, sluice.WorkStream(q))
	eventually(t, 10*time.Second, "both messages acked", func() bool {
		info, err := ws.Info(ctx)
		return err == nil && info.State.Msgs == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if !ran["fresh"] || ran["done-elsewhere"] {
		t.Errorf("handler ran for %v, want only fresh", ran)
	}
}
