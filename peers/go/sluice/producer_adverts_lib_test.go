package sluice_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicepb"
	"sluice.dev/peers/go/sluicetest"
)

// capConsumers records the consumers created and deleted on the capacity bucket's stream, from
// the server's advisories, in the order they were created.
type capConsumers struct {
	mu      sync.Mutex
	created []string
	deleted map[string]bool
}

func followCapConsumers(t *testing.T, nc *nats.Conn) *capConsumers {
	t.Helper()
	c := &capConsumers{deleted: map[string]bool{}}
	sub, err := nc.Subscribe("$JS.EVENT.ADVISORY.CONSUMER.*.KV_"+sluice.CapacityBucket+".>", func(m *nats.Msg) {
		tok := strings.Split(m.Subject, ".")
		action, name := tok[4], tok[len(tok)-1]
		c.mu.Lock()
		defer c.mu.Unlock()
		switch action {
		case "CREATED":
			c.created = append(c.created, name)
		case "DELETED":
			c.deleted[name] = true
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return c
}

// names returns the consumers created so far.
func (c *capConsumers) names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.created...)
}

// allDeleted reports whether every consumer created after the first skip has been deleted.
func (c *capConsumers) allDeleted(skip int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.created[min(skip, len(c.created)):] {
		if !c.deleted[n] {
			return false
		}
	}
	return true
}

// A producer follows the capacity adverts through one watch for its lifetime: sending for 3.5 s
// (the 1 s trust of §4.3 expires three times) creates one consumer on the capacity bucket's
// stream, where a fresh read of the adverts every second would create one each time.
func TestProducerFollowsTheAdvertsThroughOneWatch(t *testing.T) {
	ctx := context.Background()
	nc, err := nats.Connect(sluicetest.Run(t)) // a server of its own: no other test's consumers
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	q := "one-watch"
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{StandingBuffer: 4, TokenBatch: 1}); err != nil {
		t.Fatal(err)
	}
	cons := followCapConsumers(t, nc)
	// No reconciler: its audits read the adverts too, and only the producer's reads are counted.
	w, err := sluice.NewWorker(ctx, nc, q, quiet, sluice.WithReconciler(false),
		sluice.Handle("test.W", 1, 1, sluice.JSON[map[string]any](), func(context.Context, map[string]any, *sluice.Msg) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	eventually(t, 10*time.Second, "the worker's watch of the adverts", func() bool { return len(cons.names()) == 1 })

	p, err := sluice.NewProducer(ctx, nc, q, quiet)
	if err != nil {
		t.Fatal(err)
	}
	start, sent := time.Now(), 0
	for time.Since(start) < 3500*time.Millisecond {
		if _, err := p.Send(ctx, sluice.Message{ID: "m-" + strconv.Itoa(sent), Type: "test.W", Version: 1, Data: []byte(`{}`)}); err != nil {
			t.Fatalf("send %d: %v", sent, err)
		}
		sent++
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Every consumer the producer created is deleted by Close at the latest; the advisories
	// arrive in order, so once all are deleted, all creations have been counted.
	eventually(t, 10*time.Second, "the producer's consumers deleted", func() bool { return cons.allDeleted(1) })
	created := len(cons.names()) - 1
	t.Logf("the producer created %d consumers on the capacity stream in %d sends over %s", created, sent, time.Since(start).Round(time.Millisecond))
	if created > 1 || sent < 4 {
		t.Errorf("the producer created %d consumers on the capacity stream in %d sends over %s, want at most 1 (and at least 4 sends)",
			created, sent, time.Since(start).Round(time.Millisecond))
	}
}

// The version check follows the fleet through the producer's view: a worker started after the
// producer counts once its advert arrives, and stops counting when it stops (its key deleted)
// or its advert expires (a worker gone without deleting its key).
func TestProducerVersionCheckFollowsWorkersComingAndGoing(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	q := fresh("fleet-follow")
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	p, err := sluice.NewProducer(ctx, nc, q, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if err := p.CheckVersion(ctx, "test.F", 2); err != nil {
		t.Fatalf("with no live worker: %v, want nil (nothing to check against)", err)
	}
	// The advert's TTL (30 s) outlasts the test: only the key's deletion can end it in time.
	w, err := sluice.NewWorker(ctx, nc, q, quiet, sluice.WithReconciler(false), sluice.WithHeartbeat(time.Second, 30*time.Second),
		sluice.Handle("test.F", 1, 1, sluice.JSON[map[string]any](), func(context.Context, map[string]any, *sluice.Msg) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	eventually(t, 5*time.Second, "a worker started after the producer refusing test.F@2", func() bool {
		return errors.Is(p.CheckVersion(ctx, "test.F", 2), sluice.ErrVersionNotHandled)
	})
	if err := p.CheckVersion(ctx, "test.F", 1); err != nil {
		t.Errorf("test.F@1 with a worker that handles it: %v", err)
	}
	// A producer's first check sees the adverts that exist already: it waits for its view's
	// initial values.
	p2, err := sluice.NewProducer(ctx, nc, q, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close(ctx)
	if err := p2.CheckVersion(ctx, "test.F", 2); !errors.Is(err, sluice.ErrVersionNotHandled) {
		t.Errorf("a new producer's first check of test.F@2: %v, want ErrVersionNotHandled", err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the stopped worker no longer counting", func() bool { return p.CheckVersion(ctx, "test.F", 2) == nil })

	// A worker that vanished without deleting its key: its advert counts until heartbeat + ttl.
	capKV, err := js.KeyValue(ctx, sluice.CapacityBucket)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sluice.Encode(&sluicepb.CapacityAdvert{WorkerId: "gone", Queue: q, HeartbeatUnixMs: time.Now().UnixMilli(), TtlMs: 1500,
		State: sluicepb.WorkerState_WORKER_STATE_RUNNING, Handled: []*sluicepb.HandledType{{Type: "test.F", MinVersion: 1, MaxVersion: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := capKV.Put(ctx, sluice.CapacityKey(q, "gone"), b); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "the vanished worker's advert counting", func() bool {
		return errors.Is(p.CheckVersion(ctx, "test.F", 2), sluice.ErrVersionNotHandled)
	})
	eventually(t, 5*time.Second, "the vanished worker's advert expiring", func() bool { return p.CheckVersion(ctx, "test.F", 2) == nil })
}
