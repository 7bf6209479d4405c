package sluice

import (
	"math"
	"sync"
)

// HandlerOverloaded is a handler's answer when its downstream is overloaded (PROTOCOL.md §15.1):
// the delivery is held and run again after the retry delay, without counting an attempt.
const HandlerOverloaded = "overloaded"

// PushbackPolicy holds the AIMD parameters of §15.1.
type PushbackPolicy struct {
	Decrease           float64 // the factor a pushback multiplies the capacity by, in (0, 1)
	Floor              int     // the lowest capacity, ≥ 1
	DecreaseIntervalMs int64   // the shortest time between two decreases
	IncreaseIntervalMs int64   // how often a lowered capacity may grow by 1
}

// DefaultPushbackPolicy is the Java worker's default: ×0.5 at most once a second, +1 a second,
// floor 1.
var DefaultPushbackPolicy = PushbackPolicy{Decrease: 0.5, Floor: 1, DecreaseIntervalMs: 1000, IncreaseIntervalMs: 1000}

// AIMD is the capacity limit of §15.1: lowered multiplicatively on a pushback (at most once per
// decrease interval), raised by 1 per increase interval in which none pushed back and handlers
// succeeded (or the worker had nothing in hand), within [floor, nominal]. Times are milliseconds
// on any clock the caller passes in. Safe for concurrent use.
type AIMD struct {
	p                           PushbackPolicy
	mu                          sync.Mutex
	lowered                     bool
	limit                       int
	lastDecrease, lastIncrease  int64
	loweredSince                int64
	successSince, pushbackSince bool
	decreases                   uint64
}

// NewAIMD returns a limit that is not lowered.
func NewAIMD(p PushbackPolicy) *AIMD { return &AIMD{p: p} }

// Pushback records a pushback at nowMs; it lowers the limit unless the last decrease was less
// than the decrease interval ago, and reports whether it did.
func (a *AIMD) Pushback(nominal int, nowMs int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pushbackSince = true
	if a.lowered && nowMs-a.lastDecrease < a.p.DecreaseIntervalMs {
		return false
	}
	current := nominal
	if a.lowered && a.limit < nominal {
		current = a.limit
	}
	next := int(math.Floor(float64(current) * a.p.Decrease))
	if next < a.p.Floor {
		next = a.p.Floor
	}
	if !a.lowered {
		a.loweredSince = nowMs
	}
	a.lowered, a.limit = true, next
	a.lastDecrease, a.lastIncrease = nowMs, nowMs
	a.successSince, a.pushbackSince = false, false
	a.decreases++
	return true
}

// Succeeded records that at least one handler succeeded.
func (a *AIMD) Succeeded() {
	a.mu.Lock()
	a.successSince = true
	a.mu.Unlock()
}

// Tick is the periodic step at nowMs (idle: nothing in hand).
func (a *AIMD) Tick(nominal int, nowMs int64, idle bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.lowered {
		return
	}
	if a.limit >= nominal {
		a.lowered = false
		return
	}
	if nowMs-a.lastIncrease < a.p.IncreaseIntervalMs {
		return
	}
	if (a.successSince || idle) && !a.pushbackSince {
		a.limit++
		if a.limit >= nominal {
			a.lowered = false
		}
	}
	a.lastIncrease = nowMs
	a.successSince, a.pushbackSince = false, false
}

// Capacity is the capacity to advertise for a configured capacity of nominal.
func (a *AIMD) Capacity(nominal int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lowered && a.limit < nominal {
		return a.limit
	}
	return nominal
}

// Lowered reports whether the limit is lowered.
func (a *AIMD) Lowered() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lowered
}

// LoweredSinceMs is when the current lowered spell began; 0 when not lowered.
func (a *AIMD) LoweredSinceMs() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.lowered {
		return 0
	}
	return a.loweredSince
}

// Decreases counts the decreases since start.
func (a *AIMD) Decreases() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.decreases
}

// PushbackDelayMs is how long a delivery that pushed back waits before its handler runs again:
// the retry-after if the handler gave one (≥ 0), else the backoff of §7.3 for n = the number of
// pushbacks of this delivery so far, with u uniform in [0, 1).
func PushbackDelayMs(retryAfterMs int64, n int, b Backoff, u float64) float64 {
	if retryAfterMs >= 0 {
		return float64(retryAfterMs)
	}
	return b.Delay(n, u)
}

// Pushback is a worker's pushback state (§15.1): the AIMD limit, the gate that keeps the handlers
// running at once within a lowered capacity, and the counters its advert carries. It knows
// nothing of NATS: the worker calls it. Safe for concurrent use.
type Pushback struct {
	AIMD      *AIMD
	pushbacks uint64
	mu        sync.Mutex
	cond      *sync.Cond
	running   int
	nominal   func() int
}

// NewPushback returns the state for policy p; nominal gives the configured capacity.
func NewPushback(p PushbackPolicy, nominal func() int) *Pushback {
	b := &Pushback{AIMD: NewAIMD(p), nominal: nominal}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// Pushed records a pushback at nowMs (and lowers the limit if the rule says so).
func (b *Pushback) Pushed(nowMs int64) {
	b.mu.Lock()
	b.pushbacks++
	b.mu.Unlock()
	b.AIMD.Pushback(b.nominal(), nowMs)
}

// Pushbacks counts the pushbacks since start.
func (b *Pushback) Pushbacks() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pushbacks
}

// Limit is the lowered limit on messages in hand and handlers running, and whether there is one
// (never on a nil Pushback: pushback switched off).
func (b *Pushback) Limit() (int, bool) {
	if b == nil || !b.AIMD.Lowered() {
		return 0, false
	}
	return b.AIMD.Capacity(b.nominal()), true
}

// Enter waits while lowered until fewer handlers run than the lowered capacity; call Exit after.
// On a nil Pushback it returns at once.
func (b *Pushback) Enter() {
	if b == nil {
		return
	}
	b.mu.Lock()
	for {
		lim, ok := b.Limit()
		if !ok || b.running < lim {
			break
		}
		b.cond.Wait() // Exit and Tick broadcast
	}
	b.running++
	b.mu.Unlock()
}

// Exit ends what Enter began.
func (b *Pushback) Exit() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.running--
	b.mu.Unlock()
	b.cond.Broadcast()
}

// Tick is the periodic step at nowMs: succeeded says whether a handler succeeded since the last
// tick, idle whether nothing is in hand.
func (b *Pushback) Tick(nowMs int64, succeeded, idle bool) {
	if succeeded {
		b.AIMD.Succeeded()
	}
	b.AIMD.Tick(b.nominal(), nowMs, idle)
	b.cond.Broadcast() // the limit may have grown
}
