package sluice

import (
	"context"
	"sync"
	"time"
)

// waiter is a send waiting for a credit. The code that frees a credit hands it over under p.mu:
// it reserves the credit for the waiter (t), takes the waiter off the queue and its counts, and
// only then wakes it, so a woken send returns without taking p.mu again.
type waiter struct {
	wake chan struct{} // buffered: the hand-over never blocks
	t    *token        // the credit handed over; nil when woken because the producer closes or ctx ended
	key  string
	done <-chan struct{} // the send's ctx.Done(), nil for a context that cannot end
}

// ctxWatch wakes the waiting sends of one context when it ends: one context.AfterFunc per
// context with sends waiting, where each waiting send used to select on the context's Done
// channel too, which the concurrent sends of one context share (locking it was the most
// contended step of a wait in the fast bench's CPU profile).
type ctxWatch struct {
	n    int // sends of the context waiting
	stop func() bool
}

// waiterPool and timerPool hold the waiters and timers of waiting sends: most sends of a busy
// producer wait for a credit, and each would otherwise allocate both.
var (
	waiterPool = sync.Pool{New: func() any { return &waiter{wake: make(chan struct{}, 1)} }}
	timerPool  = sync.Pool{New: func() any {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return t
	}}
)

// reserve takes one credit from a held token, waiting for a token until the deadline (§6.4).
// Waiting sends queue in p.waiters in arrival order; a credit that becomes free goes to the
// first of them (wakeWaiters), so a token arriving among hundreds of waiting sends wakes only
// as many as it can serve, and a send arriving later cannot take it first.
func (p *Producer) reserve(ctx context.Context, deadline time.Time, key string) (*token, error) {
	start := time.Now()
	p.mu.Lock()
	for {
		if p.closing {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		if t := p.takeLocked(); t != nil {
			p.lastActivity = start
			p.mu.Unlock()
			return t, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			err := p.acquireError(ctx, time.Since(start))
			p.mu.Unlock()
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		w := waiterPool.Get().(*waiter)
		w.key = key
		if w.done = ctx.Done(); w.done != nil {
			p.watchLocked(ctx, w.done)
		}
		p.waiters = append(p.waiters, w)
		p.waiting++
		if key != "" {
			p.keyWaiting[key]++
		}
		p.lastActivity = start
		if p.pullWanted() {
			p.broadcast() // the pullers follow the number of sends waiting
		}
		p.mu.Unlock()
		timer := timerPool.Get().(*time.Timer)
		timer.Reset(left)
		woken := false
		select {
		case <-w.wake: // a credit, Close, or ctx's end (ctxEnded)
			woken = true
		case <-timer.C:
		}
		timer.Stop() // since Go 1.23 no stale tick stays in timer.C after Stop
		timerPool.Put(timer)
		if woken && w.t != nil {
			t := w.t
			w.t = nil
			waiterPool.Put(w)
			return t, nil
		}
		p.mu.Lock()
		if !woken && !p.dropWaiter(w) {
			<-w.wake // handed over (or closing) after the timer or ctx: take it
		}
		t := w.t
		w.t = nil
		waiterPool.Put(w)
		if t != nil && ctx.Err() != nil {
			t.spent-- // cancelled: the credit goes to the next send
			t.pending--
			p.publishing.Done()
			p.wakeWaiters()
			t = nil
		}
		if t != nil {
			p.mu.Unlock()
			return t, nil
		}
		if ctx.Err() != nil {
			p.mu.Unlock()
			return nil, ctx.Err()
		}
	}
}

// takeLocked reserves one unspent credit of a held token, or returns nil; p.mu is held and the
// producer is not closing.
func (p *Producer) takeLocked() *token {
	for _, t := range p.held {
		if t.spent < t.n {
			t.spent++
			t.pending++
			p.publishing.Add(1)
			return t
		}
	}
	return nil
}

// dropWaiter takes w off the queue and its counts if it is still queued, and reports whether
// it was; p.mu is held.
func (p *Producer) dropWaiter(w *waiter) bool {
	for i, q := range p.waiters {
		if q == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.unqueued(w)
			return true
		}
	}
	return false
}

// watchLocked counts a send of ctx (whose Done is done) waiting, and watches ctx while any
// does; p.mu is held.
func (p *Producer) watchLocked(ctx context.Context, done <-chan struct{}) {
	wt := p.watches[done]
	if wt == nil {
		wt = &ctxWatch{}
		wt.stop = context.AfterFunc(ctx, func() { p.ctxEnded(done) })
		p.watches[done] = wt
	}
	wt.n++
}

// ctxEnded wakes, without a credit, every waiting send of the context whose Done is done.
func (p *Producer) ctxEnded(done <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.waiters[:0]
	for _, w := range p.waiters {
		if w.done != done {
			kept = append(kept, w)
			continue
		}
		p.unqueued(w)
		w.wake <- struct{}{}
	}
	clear(p.waiters[len(kept):])
	p.waiters = kept
}

// unqueued updates the counts of sends waiting for w leaving the queue; p.mu is held.
func (p *Producer) unqueued(w *waiter) {
	if w.done != nil {
		if wt := p.watches[w.done]; wt != nil {
			if wt.n--; wt.n == 0 {
				wt.stop()
				delete(p.watches, w.done)
			}
		}
		w.done = nil
	}
	p.waiting--
	if w.key != "" {
		if p.keyWaiting[w.key]--; p.keyWaiting[w.key] == 0 {
			delete(p.keyWaiting, w.key)
		}
	}
}

// wakeWaiters hands each unspent credit to the first waiting send, in arrival order, and wakes
// it; closing, it wakes every waiting send with none. p.mu is held.
func (p *Producer) wakeWaiters() {
	n := 0
	for _, w := range p.waiters {
		if !p.closing {
			if w.t = p.takeLocked(); w.t == nil {
				break
			}
		}
		p.unqueued(w)
		w.wake <- struct{}{}
		n++
	}
	if n > 0 {
		p.lastActivity = time.Now()
		p.waiters = append(p.waiters[:0], p.waiters[n:]...)
	}
}
