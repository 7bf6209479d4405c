package sluice_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicepb"
)

// A handler that fails for every message opens the circuit: the worker advertises CIRCUIT_OPEN
// with capacity 0; once the handler recovers, a probe closes the circuit and the messages are
// processed.
func TestCircuitBreakerPausesAFailingWorker(t *testing.T) {
	q := fresh("breaker")
	ctx := context.Background()
	nc, js := connect(t)
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{StandingBuffer: 16}); err != nil {
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
	w, err := sluice.NewWorker(ctx, nc, q, quiet, sluice.WithWorkerID("cb1"), sluice.WithObserver(observe),
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
	p, err := sluice.NewProducer(ctx, nc, q, quiet)
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
		e, err := kv.Get(ctx, sluice.CapacityKey(q, "cb1"))
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

// probeQueue is a lone worker, its reconciler running as in a real fleet, whose handler fails
// until healthy is set: every failed message is dead-lettered at its first attempt, so the queue
// drains while the circuit is open (§7.6 "Probes").
type probeQueue struct {
	q       string
	js      jetstream.JetStream
	ev      *events
	healthy atomic.Bool
	advert  func() *sluicepb.CapacityAdvert
}

const probeFailures = 3

func newProbeQueue(t *testing.T, q string, delay time.Duration) *probeQueue {
	t.Helper()
	q = fresh(q)
	ctx := context.Background()
	nc, js := connect(t)
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	pq := &probeQueue{q: q, js: js, ev: &events{}}
	w, err := sluice.NewWorker(ctx, nc, q, quiet, sluice.WithWorkerID("lone"), sluice.WithObserver(pq.ev.observe),
		sluice.WithConcurrency(2), sluice.WithMaxAttempts(1),
		sluice.WithHeartbeat(250*time.Millisecond, time.Second), sluice.WithAuditInterval(300*time.Millisecond),
		sluice.WithCircuitBreaker(probeFailures, 5, delay),
		sluice.Handle("test.Probe", 1, 1, sluice.JSON[int](), func(context.Context, int, *sluice.Msg) error {
			if !pq.healthy.Load() {
				return errors.New("dependency down")
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	kv, err := js.KeyValue(ctx, sluice.CapacityBucket)
	if err != nil {
		t.Fatal(err)
	}
	pq.advert = func() *sluicepb.CapacityAdvert {
		e, err := kv.Get(ctx, sluice.CapacityKey(q, "lone"))
		if err != nil {
			return nil
		}
		a, _ := sluice.DecodeAdvert(e.Value())
		return a
	}
	return pq
}

// publish stores a message on the work stream without a credit, with these headers.
func (pq *probeQueue) publish(t *testing.T, h nats.Header) {
	t.Helper()
	m := &nats.Msg{Subject: sluice.WorkSubject(pq.q), Header: h, Data: []byte("1")}
	if _, err := pq.js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func probeHeaders(id string) nats.Header {
	return nats.Header{sluice.HdrMsgID: {id}, sluice.HdrProtocol: {"1"}, sluice.HdrType: {"test.Probe"},
		sluice.HdrTypeVersion: {"1"}}
}

// stored counts the messages of stream on subjects matching filter.
func (pq *probeQueue) stored(stream, filter string) uint64 {
	s, err := pq.js.Stream(context.Background(), stream)
	if err != nil {
		return 1 << 62
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(filter))
	if err != nil {
		return 1 << 62
	}
	n := uint64(0)
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}

func (pq *probeQueue) state(want sluicepb.WorkerState) bool {
	a := pq.advert()
	return a != nil && a.GetState() == want
}

// openAndDrain opens the circuit with failing messages that are all dead-lettered: the queue is
// empty, the worker advertises CIRCUIT_OPEN with capacity 0, and the reconciler has burned the
// credits of the window that closed.
func (pq *probeQueue) openAndDrain(t *testing.T) {
	t.Helper()
	for i := 0; i < probeFailures+2; i++ {
		pq.publish(t, probeHeaders(fmt.Sprintf("fails-%d", i)))
	}
	eventually(t, 15*time.Second, "every failed message dead-lettered, the queue empty, the circuit open", func() bool {
		a := pq.advert()
		return len(pq.ev.deadLettered()) == probeFailures+2 && pq.stored(sluice.WorkStream(pq.q), sluice.WorkSubject(pq.q)) == 0 &&
			a != nil && a.GetState() == sluicepb.WorkerState_WORKER_STATE_CIRCUIT_OPEN && a.GetCapacity() == 0
	})
	eventually(t, 10*time.Second, "no credit left for the queue", func() bool {
		return pq.stored(sluice.CreditStream, sluice.CreditFilter(pq.q)) == 0
	})
}

// A lone worker's circuit opens, the failed messages drain the queue, and the dependency comes
// back: the probe finds the queue empty and closes the circuit, so a producer's next send gets a
// credit and is processed.
func TestCircuitOfALoneWorkerClosesWhenItsProbeFindsTheQueueEmpty(t *testing.T) {
	ctx := context.Background()
	pq := newProbeQueue(t, "probe-empty", 500*time.Millisecond)
	pq.openAndDrain(t)
	pq.healthy.Store(true)
	nc, _ := connect(t)
	p, err := sluice.NewProducer(ctx, nc, pq.q, quiet, sluice.WithAcquireTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	// Without the rule the probe waits for a message that no producer can send: the open worker
	// advertises capacity 0, its reconciler mints nothing for the queue it serves alone, and this
	// send fails with ErrCreditTimeout, now and at every retry, until the worker restarts.
	if _, err := p.Send(ctx, sluice.Message{ID: "after-the-outage", Type: "test.Probe", Version: 1, Data: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the send processed", func() bool { return pq.ev.processed()["after-the-outage"] != nil })
	eventually(t, 5*time.Second, "a RUNNING advert", func() bool {
		a := pq.advert()
		return a != nil && a.GetState() == sluicepb.WorkerState_WORKER_STATE_RUNNING && a.GetCapacity() > 0
	})
}

// A probe whose message is settled without a handler run (here a message without an id,
// dead-lettered bad-header) tells nothing about the dependency: it ends with no verdict and the
// next message probes, succeeds and closes the circuit.
func TestCircuitProbeSettledWithoutAHandlerRunLetsTheNextMessageProbe(t *testing.T) {
	ctx := context.Background()
	// A delay longer than a pull request lives: the requests made before the circuit opened
	// expire, and both messages are queued before the first probe pull.
	pq := newProbeQueue(t, "probe-no-run", 8*time.Second)
	pq.openAndDrain(t)
	eventually(t, 8*time.Second, "no pull request waiting while the circuit is open", func() bool {
		c, err := pq.js.Consumer(ctx, sluice.WorkStream(pq.q), sluice.WorkerConsumer)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumWaiting == 0 && pq.state(sluicepb.WorkerState_WORKER_STATE_CIRCUIT_OPEN)
	})
	noID := probeHeaders("")
	noID.Del(sluice.HdrMsgID)
	pq.publish(t, noID)
	pq.publish(t, probeHeaders("good"))
	pq.healthy.Store(true)
	// Without the rule the malformed message keeps the only probe for ever: the good message stays
	// queued and the circuit open, capacity 0, until the worker restarts.
	eventually(t, 20*time.Second, "the good message processed", func() bool { return pq.ev.processed()["good"] != nil })
	if n := len(pq.ev.deadLettered()); n != probeFailures+3 {
		t.Errorf("%d dead letters, want %d", n, probeFailures+3)
	}
	eventually(t, 5*time.Second, "a RUNNING advert", func() bool { return pq.state(sluicepb.WorkerState_WORKER_STATE_RUNNING) })
}

// While a lone worker's circuit is open, a send that finds no credit says so: workers are live,
// none advertises capacity. Reporting "all credits in use, the workers are slower than the
// producers" would send the operator to add workers instead of to the failing dependency.
func TestCreditTimeoutWhileTheOnlyCircuitIsOpenSaysNoWorkerHasCapacity(t *testing.T) {
	ctx := context.Background()
	pq := newProbeQueue(t, "probe-timeout", time.Minute) // no probe within the test
	pq.openAndDrain(t)
	nc, _ := connect(t)
	p, err := sluice.NewProducer(ctx, nc, pq.q, quiet, sluice.WithAcquireTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	_, err = p.Send(ctx, sluice.Message{ID: "during-the-outage", Type: "test.Probe", Version: 1, Data: []byte("1")})
	var timeout *sluice.CreditTimeoutError
	if !errors.As(err, &timeout) || !errors.Is(err, sluice.ErrCreditTimeout) {
		t.Fatalf("send during the outage: %v, want a credit timeout", err)
	}
	if timeout.Reason != sluice.NoLiveWorkers || !strings.Contains(timeout.Message, "1 worker(s) are live but none advertises capacity") {
		t.Fatalf("credit timeout %s: %q, want NO_LIVE_WORKERS naming the live worker without capacity", timeout.Reason, timeout.Message)
	}
}
