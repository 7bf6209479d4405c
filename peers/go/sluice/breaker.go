package sluice

import (
	"sync"
	"time"
)

// breaker is the circuit breaker of §7.6: it opens when at least failures of the last window
// handler runs failed (explicit rejections and undecodable payloads do not count: the message is
// bad, not the handler), lets one probe through after delay, and closes on a successful probe.
// now is injected for tests.
type breaker struct {
	failures, window int
	delay            time.Duration
	now              func() time.Time

	mu       sync.Mutex
	results  []bool // true = failed, the last window runs
	next     int
	state    breakerState
	openedAt time.Time
	probing  bool
}

type breakerState int

const (
	breakerClosed breakerState = iota
	breakerOpen
	breakerHalfOpen
)

func newBreaker(failures, window int, delay time.Duration, now func() time.Time) *breaker {
	return &breaker{failures: failures, window: window, delay: delay, now: now}
}

// record adds one handler run's result; it reports whether the circuit opened or closed.
func (b *breaker) record(failed bool) (changed bool) {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.current() {
	case breakerHalfOpen, breakerOpen:
		if !b.probing {
			return false // a run that started before the circuit opened
		}
		b.probing = false
		if failed {
			b.state, b.openedAt = breakerOpen, b.now()
			return false
		}
		b.state, b.results, b.next = breakerClosed, nil, 0
		return true
	}
	if len(b.results) < b.window {
		b.results = append(b.results, failed)
	} else {
		b.results[b.next] = failed
		b.next = (b.next + 1) % b.window
	}
	n := 0
	for _, f := range b.results {
		if f {
			n++
		}
	}
	if n >= b.failures {
		b.state, b.openedAt = breakerOpen, b.now()
		return true
	}
	return false
}

// current is the state at now: an open circuit turns half-open after the delay; b.mu is held.
func (b *breaker) current() breakerState {
	if b.state == breakerOpen && b.now().Sub(b.openedAt) >= b.delay {
		b.state = breakerHalfOpen
	}
	return b.state
}

// open reports whether the circuit is open or half-open (the worker advertises CIRCUIT_OPEN).
func (b *breaker) open() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.current() != breakerClosed
}

// allow returns how many of n wanted messages may be pulled now: n while closed, one probe at a
// time while half-open (probe is then true), none while open; with none, wait says how long until
// asking again.
func (b *breaker) allow(n int) (allowed int, wait time.Duration, probe bool) {
	if b == nil {
		return n, 0, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.current() {
	case breakerClosed:
		return n, 0, false
	case breakerOpen:
		return 0, b.delay - b.now().Sub(b.openedAt), false
	}
	if b.probing {
		return 0, 50 * time.Millisecond, false
	}
	b.probing = true
	return 1, 0, true
}

// probeLost ends a probe whose pull brought no message.
func (b *breaker) probeLost() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}
