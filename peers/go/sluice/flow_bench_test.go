package sluice_test

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicetest"
)

// freshQueues numbers the queues of tests and benchmarks that need a fresh one on every run.
var freshQueues atomic.Int64

// BenchmarkSendDeliver is one message through the library against the test server: a Send from
// one of 64 concurrent senders and its delivery to a no-op handler (the fast workload of
// scripts/bench go: window 1,024, token batch 64, 8 handlers). Allocations per op are the
// producer's and the worker's together; the server's work is not in the figure.
func BenchmarkSendDeliver(b *testing.B) {
	ctx := context.Background()
	queue := "flowbench-" + strconv.FormatInt(freshQueues.Add(1), 10)
	wnc, js := benchConnect(b)
	pnc, _ := benchConnect(b)
	if err := sluice.Provision(ctx, js, queue, sluice.QueueConfig{StandingBuffer: 1024, TokenBatch: 64}); err != nil {
		b.Fatal(err)
	}
	var handled atomic.Int64
	w, err := sluice.NewWorker(ctx, wnc, queue, quiet, sluice.WithConcurrency(8), sluice.WithWorkerPrefetch(1016),
		sluice.WithCapacity(1024), sluice.WithTokenBatch(64),
		sluice.Handle("bench.Msg", 1, 1, sluice.Codec[[]byte](rawCodec{}), func(context.Context, []byte, *sluice.Msg) error {
			handled.Add(1)
			return nil
		}))
	if err != nil {
		b.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(wctx) }()
	defer func() { stop(); <-done }()
	p, err := sluice.NewProducer(ctx, pnc, queue, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(ctx)
	data := make([]byte, 128)
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0))) // 64 senders
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := "m-" + strconv.FormatInt(seq.Add(1), 10)
			if _, err := p.Send(ctx, sluice.Message{ID: id, Type: "bench.Msg", Version: 1, Data: data}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	sluicetest.Eventually(b, time.Minute, "every message handled", func() bool { return handled.Load() >= int64(b.N) })
	b.StopTimer()
}

// rawCodec hands the payload to the handler as it is.
type rawCodec struct{}

func (rawCodec) ContentType() string             { return "application/octet-stream" }
func (rawCodec) Encode(b []byte) ([]byte, error) { return b, nil }
func (rawCodec) Decode(b []byte) ([]byte, error) { return b, nil }

func benchConnect(b *testing.B) (*nats.Conn, jetstream.JetStream) {
	b.Helper()
	nc, err := nats.Connect(serverURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	return nc, js
}
