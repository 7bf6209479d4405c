package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"sluice.dev/examples/orders"
	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicetest"
)

// The producer binary sends --count orders, alternating versions 1 and 2, to a Go worker that
// upcasts version 1 (currency "EUR"), and prints its summary as the last JSON line.
func TestOrdersProducerFeedsAGoWorker(t *testing.T) {
	url := sluicetest.Run(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := sluice.Provision(ctx, js, "orders", sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	currency := map[string]string{}
	w, err := sluice.NewWorker(ctx, nc, "orders",
		sluice.Handle(OrderType, 2, 2, sluice.Protobuf[*orders.Order](), func(ctx context.Context, o *orders.Order, m *sluice.Msg) error {
			mu.Lock()
			currency[o.OrderId] = o.Currency
			mu.Unlock()
			return nil
		}),
		sluice.Upcast(OrderType, 1, func(b []byte) ([]byte, error) {
			o := &orders.Order{}
			if err := proto.Unmarshal(b, o); err != nil {
				return nil, err
			}
			o.Currency = "EUR"
			return proto.Marshal(o)
		}))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stop(); <-done }()

	bin := filepath.Join(t.TempDir(), "orders-producer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--server", url, "--queue", "orders", "--count", "20", "--json")
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("orders-producer: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var s summary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil || s.Sent != 20 || s.Failed != 0 {
		t.Fatalf("summary %q: %+v %v", lines[len(lines)-1], s, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(currency)
		mu.Unlock()
		if n == 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 20 orders processed", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if currency["go-1"] != "EUR" || currency["go-2"] != "USD" {
		t.Errorf("currencies: go-1 %q (version 1, upcast), go-2 %q (version 2)", currency["go-1"], currency["go-2"])
	}
}
