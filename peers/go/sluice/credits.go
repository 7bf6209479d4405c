package sluice

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// MaxToken is the largest token value (§5.3).
const MaxToken = 1 << 20

// Decompose splits c credits into tokens with batch b (§5.3): floor(c/b) tokens of b, then the
// binary decomposition of c mod b, largest first. b must be a power of two.
func Decompose(c, b uint32) []uint32 {
	out := []uint32{}
	if b == 0 {
		b = 1
	}
	for i := uint32(0); i < c/b; i++ {
		out = append(out, b)
	}
	r := c % b
	for p := b; r > 0; p /= 2 {
		if p <= r {
			out = append(out, p)
			r -= p
		}
	}
	return out
}

// IsPowerOfTwo reports whether n is a power of two.
func IsPowerOfTwo(n uint32) bool { return n != 0 && n&(n-1) == 0 }

// TokenValue returns the credits n of a token subject sluice.credit.<q>.<n>, or 0 when the
// subject does not name a valid token value.
func TokenValue(subject string) uint32 {
	i := strings.LastIndexByte(subject, '.')
	if i < 0 {
		return 0
	}
	n, err := strconv.ParseUint(subject[i+1:], 10, 32)
	if err != nil || !IsPowerOfTwo(uint32(n)) || n > MaxToken {
		return 0
	}
	return uint32(n)
}

// AdvertView is the part of a capacity advert the window needs.
type AdvertView struct {
	Capacity        uint32
	Running         bool
	HeartbeatUnixMs int64
	TTLMs           uint32
}

// Live reports whether the advert is live at now (heartbeat + ttl ≥ now, §5.1).
func (a AdvertView) Live(nowMs int64) bool { return a.HeartbeatUnixMs+int64(a.TTLMs) >= nowMs }

// Default advert bounds (§5.1 [v1.1]), used when QueueSettings leaves a bound at 0.
const (
	DefaultMaxWorkerCapacity = 10000
	DefaultMaxWindow         = 10000
)

// Bounds are a queue's advert bounds (§5.1 [v1.1]); a zero field means its default.
type Bounds struct {
	MaxWorkerCapacity uint32
	MaxWindow         uint32
}

// Window is W = max(standing_buffer, min(max_window, Σ min(capacity, max_worker_capacity))) over
// live RUNNING adverts (§5.1).
func Window(standing uint32, b Bounds, adverts []AdvertView, nowMs int64) uint64 {
	perWorker, most := uint64(b.MaxWorkerCapacity), uint64(b.MaxWindow)
	if perWorker == 0 {
		perWorker = DefaultMaxWorkerCapacity
	}
	if most == 0 {
		most = DefaultMaxWindow
	}
	var total uint64
	for _, a := range adverts {
		if a.Live(nowMs) && a.Running {
			total += min(uint64(a.Capacity), perWorker)
		}
	}
	total = min(total, most)
	if uint64(standing) > total {
		return uint64(standing)
	}
	return total
}

// Action is a reconciler decision (§5.5).
type Action struct {
	// Kind is "mint", "burn" or "none".
	Kind    string
	Credits int64
}

// Deficit is d = W − (B + T − S + O) (§5.5).
func Deficit(window, backlog, tokens, heldSpent, owed int64) int64 {
	return window - (backlog + tokens - heldSpent + owed)
}

// Reconcile decides an audit from the current deficit d and the previous audit's deficit.
func Reconcile(d, previous int64) Action {
	switch {
	case d > 0 && previous > 0:
		return Action{Kind: "mint", Credits: min64(d, previous)}
	case d < 0 && previous < 0:
		return Action{Kind: "burn", Credits: min64(-d, -previous)}
	}
	return Action{Kind: "none"}
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

// BurnAmount is what a confirmed surplus burns after the tolerance (§5.5):
// liveProducers × b + max(0, heldTokens × b − heldSpent). One token per live producer ([v1.2];
// batch is the queue's token batch b, never a worker's b'), plus what the producers hold and have
// not reported spent ([v1.3]: a busy producer holding several tokens reports once per maintenance
// cycle, and what it spends meanwhile is in B and in T but not yet in S). heldTokens is the credit
// consumer's num_ack_pending (the larger of a reading before B and one after T); heldSpent the
// bounded Σ held_spent. With heldTokens 0 the rule is that of revision 1.2. The second term counts
// only while some producer is live: a crashed producer's token stays held until it is redelivered,
// and with no live producer its duplicated credits burn as in §5.6.
func BurnAmount(surplus, liveProducers, batch, heldTokens, heldSpent int64) int64 {
	unreported := int64(0)
	if liveProducers > 0 {
		unreported = max(0, heldTokens*batch-heldSpent)
	}
	tolerance := liveProducers*batch + unreported
	return max(0, surplus-tolerance)
}

// LingerMs is the replenishment linger in whole milliseconds (§5.4 [v1.2]):
// floor(clamp(b' / rate × 1000, 2, 20)), and 20 while no rate is measured.
func LingerMs(batch uint32, rate float64) int64 {
	ms := 20.0
	if rate > 0 {
		ms = float64(batch) / rate * 1000
	}
	return int64(math.Max(2, math.Min(20, ms)))
}

// ServiceRate is the advertised rate after one heartbeat (§5.2 [v1.2]): completed finishes in
// seconds, averaged as 0.3 × instant + 0.7 × previous (the instant rate while previous is 0).
func ServiceRate(previous float64, completed uint64, seconds float64) float64 {
	inst := float64(completed) / seconds
	if previous == 0 {
		return inst
	}
	return 0.3*inst + 0.7*previous
}

// EffectiveBatch is b' (§5.4): min(b, the largest power of two ≤ max(1, capacity / 2)).
func EffectiveBatch(batch, capacity uint32) uint32 {
	half := max(1, capacity/2)
	p := uint32(1)
	for p*2 <= half && p < MaxToken {
		p *= 2
	}
	return min(batch, p)
}

// TokenIDPattern is the form of a token's Nats-Msg-Id (§5.4 [v1.2]).
var TokenIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}\.[0-9a-f]{8,32}\.[1-9][0-9]*$`)

// TokenID is a token's Nats-Msg-Id: <minter id>.<instance nonce>.<counter>, the counter from 1.
func TokenID(minterID, nonce string, counter uint64) string {
	return fmt.Sprintf("%s.%s.%d", minterID, nonce, counter)
}

// LatencyCapacity is a latency-target capacity (§5.2): concurrency + ceil(rate × wait seconds),
// bounded by [concurrency, maxCapacity], plus 2b' for the credits in transit.
func LatencyCapacity(concurrency, maxCapacity uint32, rate, waitSeconds float64, batch uint32) uint32 {
	c := float64(concurrency) + math.Ceil(rate*waitSeconds)
	c = math.Max(float64(concurrency), math.Min(float64(maxCapacity), c))
	return uint32(c) + 2*batch
}
