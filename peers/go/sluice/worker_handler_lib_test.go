package sluice_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"sluice.dev/peers/go/sluice"
)

// A handler that runs longer than the ack wait keeps its delivery through +WPI (§7.5): the
// message is handled once, on its first delivery. A handler still running at the handler
// timeout sees its ctx end with DeadlineExceeded, and the attempt fails: the message comes back.
func TestHandlerContextKeepsLongWorkAndEndsAtTheTimeout(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	queue := "handler-ctx-" + strconv.FormatInt(freshQueues.Add(1), 10) // a fresh queue on every run (-count)
	if err := sluice.Provision(ctx, js, queue, sluice.QueueConfig{StandingBuffer: 8, AckWait: time.Second}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	attempts := map[string][]int{}
	var ctxErr error
	w, err := sluice.NewWorker(ctx, nc, queue, quiet, sluice.WithHandlerTimeout(2500*time.Millisecond),
		sluice.Handle("test.Long", 1, 1, sluice.JSON[string](), func(ctx context.Context, what string, m *sluice.Msg) error {
			mu.Lock()
			attempts[m.ID] = append(attempts[m.ID], m.Attempt)
			mu.Unlock()
			switch {
			case what == "long":
				time.Sleep(2 * time.Second) // the work: twice the ack wait
			case what == "stuck" && m.Attempt == 1:
				<-ctx.Done()
				mu.Lock()
				ctxErr = ctx.Err()
				mu.Unlock()
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	p, err := sluice.NewProducer(ctx, nc, queue, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for _, id := range []string{"long", "stuck"} {
		m, _ := sluice.NewMessage(sluice.JSON[string](), id, "test.Long", 1, id)
		if _, err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 20*time.Second, "stuck handled on its second attempt", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(attempts["stuck"]) == 2
	})
	// By now (the timeout plus a backoff after both began) a long delivery that lost its ack
	// wait would have come back.
	mu.Lock()
	defer mu.Unlock()
	if got := attempts["long"]; len(got) != 1 || got[0] != 1 {
		t.Errorf("long handler (2 s, ack wait 1 s) ran on attempts %v, want [1]", got)
	}
	if got := attempts["stuck"]; len(got) != 2 || got[1] != 2 {
		t.Errorf("stuck handler ran on attempts %v, want [1 2]", got)
	}
	if ctxErr != context.DeadlineExceeded {
		t.Errorf("the stuck handler's ctx ended with %v, want context.DeadlineExceeded", ctxErr)
	}
}
