package sluice_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicepb"
)

// A handler that fails for every message opens the circuit: the worker advertises CIRCUIT_OPEN
// with capacity 0; once the handler recovers, a probe closes the circuit and the messages are
// processed.
func TestCircuitBreakerPausesAFailingWorker(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	if err := sluice.Provision(ctx, js, "breaker", sluice.QueueConfig{StandingBuffer: 16}); err != nil {
		t.Fatal(err)
	}
	var healthy atomic.Bool
	ev := &events{}
	var circuit []bool
	observe := func(e sluice.Event) {
		if c, ok := e.(*sluice.CircuitChanged); ok {
			circuit = append(circuit, c.Open)
		}
		ev.observe(e)
	}
	w, err := sluice.NewWorker(ctx, nc, "breaker", quiet, sluice.WithWorkerID("cb1"), sluice.WithObserver(observe),
		sluice.WithConcurrency(1), sluice.WithMaxAttempts(100), sluice.WithMaxDeliveries(200),
		sluice.WithBackoff(sluice.Backoff{InitialMs: 20, Multiplier: 1, MaxDelayMs: 20}),
		sluice.WithCircuitBreaker(3, 5, 300*time.Millisecond),
		sluice.Handle("test.CB", 1, 1, sluice.JSON[int](), func(context.Context, int, *sluice.Msg) error {
			if !healthy.Load() {
				return errors.New("downstream is down")
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	p, err := sluice.NewProducer(ctx, nc, "breaker", quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for i := 0; i < 5; i++ {
		if _, err := p.Send(ctx, sluice.Message{ID: fmt.Sprintf("cb-%d", i), Type: "test.CB", Version: 1, Data: []byte("1")}); err != nil {
			t.Fatal(err)
		}
	}
	kv, _ := js.KeyValue(ctx, sluice.CapacityBucket)
	advert := func() *sluicepb.CapacityAdvert {
		e, err := kv.Get(ctx, sluice.CapacityKey("breaker", "cb1"))
		if err != nil {
			return nil
		}
		a, _ := sluice.DecodeAdvert(e.Value())
		return a
	}
	eventually(t, 10*time.Second, "the CIRCUIT_OPEN advert", func() bool {
		a := advert()
		return a != nil && a.GetState() == sluicepb.WorkerState_WORKER_STATE_CIRCUIT_OPEN && a.GetCapacity() == 0
	})
	healthy.Store(true)
	eventually(t, 20*time.Second, "all five processed after the circuit closed", func() bool { return len(ev.processed()) == 5 })
	eventually(t, 5*time.Second, "a RUNNING advert", func() bool {
		a := advert()
		return a != nil && a.GetState() == sluicepb.WorkerState_WORKER_STATE_RUNNING && a.GetCapacity() > 0
	})
	if len(circuit) < 2 || !circuit[0] || circuit[len(circuit)-1] {
		t.Errorf("circuit events %v, want opened first and closed last", circuit)
	}
}
