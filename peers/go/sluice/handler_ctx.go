package sluice

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// handlerCtx is the context a handler runs in: it carries the message's trace
// (TraceFromContext), ends with context.DeadlineExceeded at the handler timeout and with
// context.Canceled when the handler returns, and its one timer also sends +WPI every ack wait / 3
// while the handler runs (§7.5). One context and one timer per delivery, where
// context.WithTimeout, context.WithValue and a timer of its own for +WPI took ten allocations
// and two timers. Contexts derived from it (context.WithCancel and the like) follow it through
// AfterFunc, which the context package uses when a parent has it, without a goroutine each.
type handlerCtx struct {
	deadline time.Time
	trace    TraceContext
	every    time.Duration // the +WPI interval
	raw      jetstream.Msg // nil: no +WPI (benchmarks)

	mu     sync.Mutex
	timer  *time.Timer
	done   chan struct{} // made on the first Done: most handlers never ask for it
	err    error
	afters []*afterFunc
}

type afterFunc struct {
	f       func()
	stopped bool // under handlerCtx.mu
}

// closedDone is the Done channel of a context that ended before anyone asked for one.
var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// startHandlerCtx returns the context of a handler starting now, its timer running.
func startHandlerCtx(timeout, every time.Duration, trace TraceContext, raw jetstream.Msg) *handlerCtx {
	c := &handlerCtx{deadline: time.Now().Add(timeout), trace: trace, every: every, raw: raw}
	c.mu.Lock()
	c.timer = time.AfterFunc(min(every, timeout), c.tick)
	c.mu.Unlock()
	return c
}

// tick ends the context at the deadline, and before it sends +WPI and waits for the next tick.
func (c *handlerCtx) tick() {
	left := time.Until(c.deadline)
	if left <= 0 {
		c.end(context.DeadlineExceeded)
		return
	}
	c.mu.Lock()
	ended := c.err != nil
	c.mu.Unlock()
	if ended {
		return
	}
	if c.raw != nil {
		_ = c.raw.InProgress()
	}
	c.mu.Lock()
	if c.err == nil {
		c.timer.Reset(min(c.every, left))
	}
	c.mu.Unlock()
}

// end ends the context with err (the first end wins), stops its timer and runs the functions
// registered with AfterFunc.
func (c *handlerCtx) end(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	c.timer.Stop()
	if c.done != nil {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	for _, a := range afters {
		if !a.stopped {
			go a.f()
		}
	}
}

func (c *handlerCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *handlerCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.err != nil {
			return closedDone
		}
		c.done = make(chan struct{})
	}
	return c.done
}

func (c *handlerCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *handlerCtx) Value(key any) any {
	if _, ok := key.(traceKey); ok {
		return c.trace
	}
	return nil
}

// AfterFunc runs f in its own goroutine once the context ends (at once if it has); stop keeps
// it from running and reports whether it did. context.AfterFunc and the contexts derived from
// this one use it.
func (c *handlerCtx) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f: f}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	c.afters = append(c.afters, a)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if a.stopped || c.err != nil {
			return false
		}
		a.stopped = true
		return true
	}
}
