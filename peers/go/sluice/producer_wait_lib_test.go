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
	queue := "waiting-sends-" + strconv.FormatInt(freshQueues.Add(1), 10) // a fresh queue on every run (-count)
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

	// Three sends of one context and one of another: ending the first context ends its three
	// sends only.
	shared, cancelShared := context.WithCancel(ctx)
	other, cancelOther := context.WithTimeout(ctx, 5*time.Second)
	defer cancelOther()
	ended := make(chan error, 4)
	for i := 20; i < 23; i++ {
		go func() { _, err := p.Send(shared, msg(i)); ended <- err }()
	}
	go func() { _, err := p.Send(other, msg(23)); ended <- err }()
	// All four wait for a credit before the first context ends, so the cancellation reaches
	// sends that wait, not sends that have not started.
	eventually(t, 900*time.Millisecond, "four sends waiting for a credit", func() bool { return sluice.WaitingSends(p) == 4 })
	cancelShared()
	for i := 0; i < 3; i++ {
		if err := <-ended; !errors.Is(err, context.Canceled) {
			t.Errorf("a send of the cancelled context: %v, want context.Canceled", err)
		}
	}
	var ct *sluice.CreditTimeoutError
	if err := <-ended; !errors.As(err, &ct) {
		t.Errorf("the send of the other context: %v, want a CreditTimeoutError at the acquire timeout", err)
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
