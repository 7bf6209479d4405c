package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"sluice.dev/examples/orders"
	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicetest"
)

func TestUpcastFillsEuros(t *testing.T) {
	v1, _ := proto.Marshal(&orders.Order{OrderId: "go-1", Customer: "ada", Lines: 2, TotalCents: 990})
	b, err := v1ToV2(v1)
	if err != nil {
		t.Fatal(err)
	}
	var o orders.Order
	if err := proto.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	if o.OrderId != "go-1" || o.Customer != "ada" || o.Lines != 2 || o.TotalCents != 990 || o.Currency != "EUR" {
		t.Fatalf("upcast order: %v", &o)
	}
	if _, err := v1ToV2([]byte{0xff, 0x01}); err == nil {
		t.Fatal("bytes that are no order upcast without an error")
	}
}

// The worker binary processes orders of both versions, prints one line per order with the
// version it was sent with, and on SIGTERM stops cleanly with its stopped line last.
func TestOrdersWorkerPrintsEachOrderAndStopsOnSigterm(t *testing.T) {
	url := sluicetest.Run(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
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

	bin := filepath.Join(t.TempDir(), "orders-worker")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "--server", url, "--queue", "orders", "--worker-id", "go-t1", "--service-ms", "1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	var mu sync.Mutex
	var lines []map[string]any
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("not a JSON line: %q", sc.Text())
				continue
			}
			mu.Lock()
			lines = append(lines, m)
			mu.Unlock()
		}
	}()

	// The worker's own reconciler mints the first credits; the producer waits for them.
	p, err := sluice.NewProducer(ctx, nc, "orders", sluice.WithAcquireTimeout(60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	codec := sluice.Protobuf[*orders.Order]()
	for n := 1; n <= 20; n++ {
		o := &orders.Order{OrderId: fmt.Sprintf("go-%d", n), Customer: "c", Lines: 1, TotalCents: int64(n)}
		version := 1
		if n%2 == 0 {
			o.Currency, version = "USD", 2
		}
		msg, err := sluice.NewMessage(codec, o.OrderId, OrderType, version, o)
		if err == nil {
			_, err = p.Send(ctx, msg)
		}
		if err != nil {
			t.Fatalf("send %s: %v", o.OrderId, err)
		}
	}
	_ = p.Close(ctx)

	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(lines)
		mu.Unlock()
		if n >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 20 orders printed", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-read
	if err := cmd.Wait(); err != nil {
		t.Fatalf("worker after SIGTERM: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 21 {
		t.Fatalf("%d lines, want 20 processed and 1 stopped: %v", len(lines), lines)
	}
	for _, l := range lines[:20] {
		id, _ := l["id"].(string)
		n, _ := strconv.Atoi(strings.TrimPrefix(id, "go-"))
		want := 2.0
		if n%2 == 1 {
			want = 1
		}
		if l["event"] != "processed" || l["lang"] != "go" || l["version"] != want {
			t.Errorf("line %v: want processed, lang go, version %v", l, want)
		}
	}
	if last := lines[20]; last["event"] != "stopped" || last["processed"] != 20.0 {
		t.Errorf("last line %v: want stopped with processed 20", last)
	}
}
