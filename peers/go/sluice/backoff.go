package sluice

import (
	"math"
	"time"
)

// Backoff holds the §7.3 parameters, delays in milliseconds.
type Backoff struct {
	InitialMs  float64 `json:"initial_ms"`
	Multiplier float64 `json:"multiplier"`
	MaxDelayMs float64 `json:"max_delay_ms"`
	Jitter     float64 `json:"jitter"`
}

// DefaultBackoff is the §7.3 default: 1 s, ×2, at most 60 s, jitter 0.2.
var DefaultBackoff = Backoff{InitialMs: 1000, Multiplier: 2, MaxDelayMs: 60000, Jitter: 0.2}

// Base is d(k) = min(max_delay, initial × multiplier^(k−1)) for the attempt k that failed.
func (b Backoff) Base(k int) float64 {
	if k < 1 {
		k = 1
	}
	return math.Min(b.MaxDelayMs, b.InitialMs*math.Pow(b.Multiplier, float64(k-1)))
}

// Delay is clamp(d(k) × (1 + jitter × (2u − 1)), 0, max_delay) with u in [0, 1).
func (b Backoff) Delay(k int, u float64) float64 {
	d := b.Base(k) * (1 + b.Jitter*(2*u-1))
	return math.Min(b.MaxDelayMs, math.Max(0, d))
}

// Bounds returns the smallest and largest delay for attempt k over all u.
func (b Backoff) Bounds(k int) (lo, hi float64) {
	d := b.Base(k)
	return math.Max(0, d*(1-b.Jitter)), math.Min(b.MaxDelayMs, d*(1+b.Jitter))
}

// NakDelay is the delay a NAK carries for a delay in milliseconds (§7.3 [v1.2]):
// floor(ms × 10^6) nanoseconds, never negative.
func NakDelay(ms float64) time.Duration {
	return time.Duration(math.Max(0, ms) * 1e6)
}
