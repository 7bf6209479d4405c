package sluice

import (
	"sync"
	"time"
)

// breaker is the circuit breaker of §7.6: it opens when at least failures of the last window
// handler runs failed (explicit rejections and undecodable payloads do not count: the message is
// bad, not the handler), lets one probe through at a time after delay, and closes on a successful
// probe or an empty probe pull. now is injected for tests.
//
// Probes (§7.6 [v1.3]) are numbered, so that only the probe's own run decides the circuit: a run
// that started before the circuit opened, or came from a pull made before it, is not counted while
// the circuit is open or half-open, and a late end of an old probe cannot end a newer one. A probe
// ends in exactly one of three ways: its run is recorded (a success closes, a failure opens again
// for the full delay); it is settled without a counted run, or its pull fails (probeEnded: no
// verdict, the next pull probes); its pull expires with no message (probeEmpty: the queue is
// empty, the circuit closes: a lone worker advertising capacity 0 would otherwise wait for ever
// for a message no producer can send).
type breaker struct {
	failures, window int
	delay            time.Duration
	now              func() time.Time

	mu       sync.Mutex
	results  []bool // true = failed, the last window runs
	next     int
	state    breakerState
	openedAt time.Time
	probing  uint64 // the probe out, 0 when none
	probes   uint64 // probes numbered so far
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

// record adds one handler run's result; probe is the run's probe number, 0 for a run that is not
// a probe. It reports whether the circuit opened or closed.
func (b *breaker) record(failed bool, probe uint64) (changed bool) {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.current() {
	case breakerHalfOpen, breakerOpen:
		if probe == 0 || probe != b.probing {
			return false // not the probe: a run that started before the circuit opened
		}
		b.probing = 0
		if failed {
			b.state, b.openedAt = breakerOpen, b.now()
			return false
		}
		b.close()
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

// close closes the circuit with an empty window; b.mu is held.
func (b *breaker) close() {
	b.state, b.results, b.next, b.probing = breakerClosed, nil, 0, 0
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
// time while half-open (probe is then its number, else 0), none while open; with none, wait says
// how long until asking again.
func (b *breaker) allow(n int) (allowed int, wait time.Duration, probe uint64) {
	if b == nil {
		return n, 0, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.current() {
	case breakerClosed:
		return n, 0, 0
	case breakerOpen:
		return 0, b.delay - b.now().Sub(b.openedAt), 0
	}
	if b.probing != 0 {
		return 0, 50 * time.Millisecond, 0
	}
	b.probes++
	b.probing = b.probes
	return 1, 0, b.probing
}

// probeEnded ends probe with no verdict: its message was settled without a counted run (a
// rejection, a duplicate, a payload that does not decode, a type not handled here), or its pull
// failed. The next pull probes. A probe whose run was recorded is over already.
func (b *breaker) probeEnded(probe uint64) {
	if b == nil || probe == 0 {
		return
	}
	b.mu.Lock()
	if b.probing == probe {
		b.probing = 0
	}
	b.mu.Unlock()
}

// probeEmpty ends probe whose pull expired with no message: the queue is empty and no handler
// failed, so a half-open circuit closes. It reports whether the circuit closed.
func (b *breaker) probeEmpty(probe uint64) (closed bool) {
	if b == nil || probe == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.probing != probe {
		return false
	}
	b.probing = 0
	if b.current() != breakerHalfOpen {
		return false
	}
	b.close()
	return true
}
