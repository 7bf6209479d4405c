package sluice_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"sluice.dev/peers/go/sluice"
)

// Sends waiting for credits: the credits that arrive go to waiting sends (two of five here),
// the others end at the acquire timeout with a CreditTimeoutError; a waiting send whose ctx ends
// returns ctx's error, and a send under way when the producer closes returns ErrClosed (whether
// Close finds it waiting or it starts after Close).
func TestWaitingSendsGetArrivingCreditsOrEndCleanly(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	const queue = "waiting-sends"
	if err := sluice.Provision(ctx, js, queue, sluice.QueueConfig{StandingBuffer: 2, TokenBatch: 1}); err != nil {
		t.Fatal(err)
	}
	p, err := sluice.NewProducer(ctx, nc, queue, quiet, sluice.WithAcquireTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	msg := func(i int) sluice.Message {
		return sluice.Message{ID: "w-" + strconv.Itoa(i), Type: "test.W", Version: 1, Data: []byte("{}")}
	}
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = p.Send(ctx, msg(i)) }()
	}
	wg.Wait()
	sent, timedOut := 0, 0
	for i, err := range errs {
		var ct *sluice.CreditTimeoutError
		switch {
		case err == nil:
			sent++
		case errors.As(err, &ct):
			timedOut++
		default:
			t.Errorf("send %d: %v, want success or a CreditTimeoutError", i, err)
		}
	}
	if sent != 2 || timedOut != 3 {
		t.Errorf("%d sent and %d timed out, want 2 and 3 (two credits for five sends)", sent, timedOut)
	}

	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := p.Send(cctx, msg(10)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a send whose ctx ends while it waits: %v, want context.DeadlineExceeded", err)
	}

	closed := make(chan error, 1)
	go func() { _, err := p.Send(ctx, msg(11)); closed <- err }()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-closed:
		if !errors.Is(err, sluice.ErrClosed) {
			t.Errorf("a send waiting at Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("a send waiting at Close did not return within 5 s")
	}
}
