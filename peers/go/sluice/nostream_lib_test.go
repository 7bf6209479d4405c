package sluice_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice.dev/peers/go/sluice"
)

// lockedBuffer keeps what a slog handler wrote, for tests that wait for a log line.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// A send that no stream answers (NATS "no responders": the work stream is gone, or a clustered
// stream is electing its leader) is retried with the same id (§6 step 5 [v1.3]) and lands once
// the stream is back. When no attempt is ever answered, the send fails naming the missing stream
// (ErrTopology) and its credit goes back: kept spent, it would be out of circulation until the
// reconciler noticed.
func TestASendNoStreamAnswersIsRetriedThenRefunded(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	q := fresh("nostream")
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{StandingBuffer: 1, TokenBatch: 1}); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	p, err := sluice.NewProducer(ctx, nc, q, sluice.WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
		sluice.WithAcquireTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	msg := func(id string) sluice.Message {
		return sluice.Message{ID: id, Type: "test.N", Version: 1, Data: []byte("1")}
	}
	if err := js.DeleteStream(ctx, sluice.WorkStream(q)); err != nil {
		t.Fatal(err)
	}

	// Never answered: the send fails at its deadline, naming the missing stream.
	_, err = p.Send(ctx, msg("never"))
	if !errors.Is(err, sluice.ErrTopology) || !strings.Contains(err.Error(), "no stream answered") {
		t.Fatalf("a send no stream ever answers: %v, want ErrTopology saying no stream answered", err)
	}
	const warned = "no stream answered a publish"
	if n := logs.count(warned); n != 1 {
		t.Errorf("%d warnings for the unanswered send, want 1", n)
	}

	// Answered again: the refunded credit (the queue's only one) carries the next send, which
	// waits out the missing stream and lands once it is back.
	sent := make(chan error, 1)
	go func() { _, err := p.Send(ctx, msg("while-gone")); sent <- err }()
	eventually(t, 5*time.Second, "the second send retrying while no stream answers", func() bool { return logs.count(warned) == 2 })
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("the send after the stream came back: %v (its credit was not refunded?)", err)
	}
	ws, err := js.Stream(ctx, sluice.WorkStream(q))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := ws.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Errorf("work stream holds %v messages (err %v), want 1", info.State.Msgs, err)
	}
}
