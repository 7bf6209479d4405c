package sluice

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// The per-message functions of a send and of a delivery, each on its own, with their
// allocations: go test -run '^$' -bench . -benchmem ./sluice. The whole path against a real
// server is BenchmarkSendDeliver (flow_bench_test.go); scripts/bench go compares it with raw
// nats.go.

// benchPayload is the bench's message body: 128 bytes.
var benchPayload = make([]byte, 128)

// BenchmarkNatsMsg builds a work message's §3 headers and trace context (one per Send).
func BenchmarkNatsMsg(b *testing.B) {
	p := &Producer{cfg: producerConfig{common: defaultCommon(), id: "go-0123456789ab"}, queue: "bench", subject: WorkSubject("bench")}
	m := Message{ID: "m-1234567", Type: "bench.Msg", Version: 1, Data: benchPayload}
	ctx, now := context.Background(), time.Now()
	b.ReportAllocs()
	for b.Loop() {
		sm, _ := p.natsMsg(ctx, m, now)
		if len(sm.msg.Header) != 7 {
			b.Fatalf("%d headers", len(sm.msg.Header))
		}
		p.release(sm)
	}
}

// BenchmarkReserveFinish takes a held credit and ends its send as stored (one of each per Send
// that finds a credit at hand).
func BenchmarkReserveFinish(b *testing.B) {
	p := &Producer{cfg: producerConfig{common: defaultCommon()}, changed: make(chan struct{}),
		keyWaiting: map[string]uint32{}, keyGranted: map[string]uint64{}, reportNow: make(chan struct{}, 1),
		watches: map[<-chan struct{}]*ctxWatch{}}
	p.held = []*token{{n: 1 << 30}}
	ctx, deadline := context.Background(), time.Now().Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		t, err := p.reserve(ctx, deadline, "")
		if err != nil {
			b.Fatal(err)
		}
		p.finishSent(t, "")
	}
}

// benchHeader is a delivery's headers as a Go producer sends them.
func benchHeader() nats.Header {
	p := &Producer{cfg: producerConfig{common: defaultCommon(), id: "go-0123456789ab"}, queue: "bench", subject: WorkSubject("bench")}
	sm, _ := p.natsMsg(context.Background(), Message{ID: "m-1234567", Type: "bench.Msg", Version: 1, Data: benchPayload}, time.Now())
	return sm.msg.Header
}

// BenchmarkBeforeHandler runs a delivery's checks before its handler (§7.2 steps 1-5) with the
// id-key and the local idempotency cache.
func BenchmarkBeforeHandler(b *testing.B) {
	h := map[string][]string(benchHeader())
	cache := newIDCache(100000, time.Hour)
	handled := []HandledType{{Type: "bench.Msg", MinVersion: 1, MaxVersion: 1}}
	d := Delivery{Headers: h, PayloadSize: len(benchPayload), K: 1}
	b.ReportAllocs()
	for b.Loop() {
		dec, _ := BeforeHandler(d, DefaultWorkerSettings, handled, func(id string) bool { return cache.Seen(IDKey(id)) })
		if dec.Kind != OutcomeRun {
			b.Fatalf("outcome %v", dec.Kind)
		}
	}
}

// BenchmarkRunHandler runs a no-op handler as a delivery does: its context (timeout, trace) and
// its +WPI timer.
func BenchmarkRunHandler(b *testing.B) {
	w := &Worker{cfg: workerConfig{common: defaultCommon(), handlerTimeout: time.Minute}, ackWait: 30 * time.Second,
		next: func(ctx context.Context, m *Msg) error { return nil }}
	m := &Msg{ID: "m-1234567", Type: "bench.Msg", Version: 1, Header: benchHeader(), Data: benchPayload}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.runHandler(m); err != nil {
			b.Fatal(err)
		}
	}
}
