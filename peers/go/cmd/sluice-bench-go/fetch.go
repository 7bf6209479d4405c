package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// fetcher consumes as the Sluice worker does, instead of Consume: pull requests (Fetch, 5 s
// expiry, 2 s heartbeats) for the free slots of at most limit messages in hand, one request at
// a time, each message held until its handler releases it after the ack. raw-fetch runs it, so
// that (raw-fetch − raw-bounded) is what this way of consuming costs by itself.
type fetcher struct {
	limit int64
	held  atomic.Int64
	wake  chan struct{}
	stop  context.CancelFunc
}

func startFetching(cons jetstream.Consumer, limit int, jobs chan<- jetstream.Msg, stopped <-chan struct{}) *fetcher {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fetcher{limit: int64(limit), wake: make(chan struct{}, 1), stop: cancel}
	go func() {
		for ctx.Err() == nil {
			n := f.limit - f.held.Load()
			if n < 1 {
				select {
				case <-f.wake:
				case <-ctx.Done():
				}
				continue
			}
			fctx, done := context.WithTimeout(ctx, 5500*time.Millisecond)
			batch, err := cons.Fetch(int(n), jetstream.FetchContext(fctx), jetstream.FetchHeartbeat(2*time.Second))
			if err != nil {
				done()
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			for m := range batch.Messages() {
				f.held.Add(1)
				select {
				case jobs <- m:
				case <-stopped:
				}
			}
			done()
		}
	}()
	return f
}

// release frees the slot of a message whose handler is done with it.
func (f *fetcher) release() {
	f.held.Add(-1)
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Stop ends the pulls; a request still open ends with its context.
func (f *fetcher) Stop() { f.stop() }
