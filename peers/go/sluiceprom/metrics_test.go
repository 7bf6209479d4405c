package sluiceprom_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluiceprom"
	"sluice.dev/peers/go/sluicetest"
)

// A worker and a producer report to Prometheus through the adapter.
func TestWorkerAndProducerMetricsReachPrometheus(t *testing.T) {
	url := sluicetest.Run(t)
	ctx := context.Background()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := sluice.Provision(ctx, js, "prom", sluice.QueueConfig{StandingBuffer: 8}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics := sluice.WithMetrics(sluiceprom.New(reg, prometheus.Labels{"queue": "prom"}))
	w, err := sluice.NewWorker(ctx, nc, "prom", metrics, sluice.Handle("test.P", 1, 1, sluice.JSON[int](),
		func(context.Context, int, *sluice.Msg) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stop(); <-done }()
	p, err := sluice.NewProducer(ctx, nc, "prom", metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for i := 0; i < 3; i++ {
		if _, err := p.Send(ctx, sluice.Message{ID: fmt.Sprintf("p-%d", i), Type: "test.P", Version: 1, Data: []byte("1")}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if value(t, reg, "sluice_processed_total") == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sluice_processed_total did not reach 3")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := value(t, reg, "sluice_sent_total"); got != 3 {
		t.Errorf("sluice_sent_total = %v, want 3", got)
	}
	if n, _ := testutil.GatherAndCount(reg, "sluice_credit_wait_seconds"); n != 1 {
		t.Errorf("no sluice_credit_wait_seconds histogram")
	}
}

// value is the sum of the counter name's samples in reg, -1 when it is not registered.
func value(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			var sum float64
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	return -1
}
