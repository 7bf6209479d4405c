package main

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicetest"
)

// A fleet of Go workers alone, started with --reconciler on a queue without a standing buffer:
// the reconciler mints the first credits, every message is processed although one worker is
// killed with SIGKILL mid-run, and the credits return to B + T = W (§5.5, §5.6) once the dead
// worker's advert expires and its deliveries come back.
func TestGoFleetKeepsCreditsWholeAfterSIGKILL(t *testing.T) {
	url := sluicetest.Run(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	const q = "gofleet"
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{TokenBatch: 4, AckWait: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	var workers []*proc
	for i := 1; i <= 3; i++ {
		w := startPeer(t, "worker", "--server", url, "--queue", q, "--worker-id", fmt.Sprintf("fw%d", i),
			"--concurrency", "2", "--prefetch", "2", "--work-ms", "5", "--reconciler")
		workers = append(workers, w)
	}
	for _, w := range workers {
		sluicetest.Eventually(t, 15*time.Second, "workers ready", func() bool { return len(w.events("ready")) == 1 })
	}
	const n = 300
	producer := startPeer(t, "produce", "--server", url, "--queue", q, "--producer-id", "fp", "--count", strconv.Itoa(n))
	processed := func() map[string]bool {
		out := map[string]bool{}
		for _, w := range workers {
			for _, e := range w.events("processed") {
				out[e.str("msg_id")] = true
			}
		}
		return out
	}
	sluicetest.Eventually(t, 60*time.Second, "a third of the messages processed", func() bool { return len(processed()) >= n/3 })
	if err := workers[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	sluicetest.Eventually(t, 90*time.Second, "the producer to finish", producer.exited)
	if producer.err != nil {
		t.Fatalf("producer failed: %v (%v)", producer.err, producer.events("error"))
	}
	sluicetest.Eventually(t, 60*time.Second, "every message processed", func() bool { return len(processed()) == n })

	// W: the two live workers' capacity (2 + 2 each); the dead one's advert expires after 6 s.
	const window = 8
	ws, _ := js.Stream(ctx, sluice.WorkStream(q))
	var last string
	sluicetest.Eventually(t, 60*time.Second, "B + T = W", func() bool {
		info, err := ws.Info(ctx)
		if err != nil {
			return false
		}
		tokens, err := storedCredits(ctx, js, q)
		if err != nil {
			return false
		}
		last = fmt.Sprintf("B=%d T=%d", info.State.Msgs, tokens)
		return info.State.Msgs+tokens == window
	})
	t.Logf("settled at %s, W=%d", last, window)
}
