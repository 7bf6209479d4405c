package sluice

import (
	"math"
	"sync"
	"time"

	"sluice.dev/peers/go/sluicepb"
)

// Fleet-wide rate limits (PROTOCOL.md §15.2 [v1.3]): each worker's share of the queue's rate, the
// depth of its bucket, the pacing allowance and the window a rate caps.
const (
	// RateDepthSeconds of its share is the most a worker mints at once after idling.
	RateDepthSeconds = 0.02
	// RatePacingSeconds of the rate is what the window leaves for minters that run late.
	RatePacingSeconds = 0.05
	// RateShareRefresh is how often a worker recomputes its share while a rate is set.
	RateShareRefresh = 100 * time.Millisecond
)

// RateLimited reports whether perSecond is a rate limit (a finite number above 0).
func RateLimited(perSecond float64) bool {
	return perSecond > 0 && !math.IsInf(perSecond, 0) && !math.IsNaN(perSecond)
}

// RateOf returns the queue's rate limit from its settings: (0, 0) when it has none or an invalid
// one (a rate without a burst is no rate: minting is never stopped).
func RateOf(qs *sluicepb.QueueSettings) (float64, uint32) {
	if qs == nil || !RateLimited(qs.GetRatePerSecond()) || qs.GetRateBurst() < 1 {
		return 0, 0
	}
	return qs.GetRatePerSecond(), qs.GetRateBurst()
}

// RateShare is rate × own / total; 0 when either is 0.
func RateShare(rate float64, own, total uint64) float64 {
	if own == 0 || total == 0 || !RateLimited(rate) {
		return 0
	}
	return rate * float64(own) / float64(total)
}

// RateShareOf is this worker's share: rate × own / Σ capacity over the live RUNNING adverts that
// mint within the rate, with ownCapacity in place of the worker's own advert (others excludes it).
func RateShareOf(rate float64, ownCapacity uint32, others []*sluicepb.CapacityAdvert, nowMs int64, maxWorkerCapacity uint32) float64 {
	if maxWorkerCapacity == 0 {
		maxWorkerCapacity = 10000
	}
	own := uint64(min(ownCapacity, maxWorkerCapacity))
	total := own
	for _, a := range others {
		if a.GetHeartbeatUnixMs()+int64(a.GetTtlMs()) >= nowMs &&
			a.GetState() == sluicepb.WorkerState_WORKER_STATE_RUNNING && a.GetRateLimited() {
			total += uint64(min(a.GetCapacity(), maxWorkerCapacity))
		}
	}
	return RateShare(rate, own, total)
}

// RateDepth is max(1, share × 0.02) credits.
func RateDepth(share float64) float64 { return math.Max(1, share*RateDepthSeconds) }

// RatePacing is ceil(rate × 0.05) + live RUNNING workers.
func RatePacing(rate float64, liveWorkers int) int64 {
	return int64(math.Ceil(rate*RatePacingSeconds)) + int64(max(0, liveWorkers))
}

// RateWindow is min(window, max(1, burst − pacing)) while a rate is set, else window.
func RateWindow(window uint64, rate float64, burst uint64, liveWorkers int) uint64 {
	if !RateLimited(rate) {
		return window
	}
	w := int64(burst) - RatePacing(rate, liveWorkers)
	if w < 1 {
		w = 1
	}
	return min(window, uint64(w))
}

// RateBucket paces one worker's replenishment to its share of the rate. Safe for concurrent use.
type RateBucket struct {
	mu        sync.Mutex
	on        bool
	perSecond float64
	burst     uint32
	share     float64
	allowance float64
	last      time.Time
	idle      bool
	held      uint32
}

// Configure sets the rate in force (perSecond ≤ 0: none) and this worker's share of it. A bucket
// that was off starts full to its depth.
func (r *RateBucket) Configure(perSecond float64, burst uint32, share float64, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	limit := RateLimited(perSecond)
	if limit && !r.on {
		r.allowance, r.last, r.idle = RateDepth(share), now, true
	}
	r.on = limit
	if !limit {
		r.perSecond, r.burst, r.share, r.held = 0, 0, 0, 0
		return
	}
	r.perSecond, r.burst, r.share = perSecond, burst, math.Max(0, share)
}

// SetShare changes this worker's share without touching the allowance.
func (r *RateBucket) SetShare(share float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.share = math.Max(0, share)
	}
}

// On reports whether a rate is set.
func (r *RateBucket) On() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.on
}

// Rate returns the rate in force and this worker's share (0, 0 without a rate).
func (r *RateBucket) Rate() (perSecond, share float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.perSecond, r.share
}

// Allow returns how many of wanted of the owed credits the rate lets this worker mint at now; the
// rest stays owed. Without a rate, all of them. The bucket is capped at its depth only after a
// round that left nothing owed.
func (r *RateBucket) Allow(wanted, owed uint32, now time.Time) uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return wanted
	}
	depth := RateDepth(r.share)
	if dt := now.Sub(r.last); dt > 0 {
		r.allowance += r.share * float64(dt.Nanoseconds()) / 1e9
	}
	r.last = now
	if r.idle {
		r.allowance = math.Min(r.allowance, depth)
	}
	m := uint32(math.Max(0, math.Min(float64(wanted), math.Floor(r.allowance))))
	r.allowance -= float64(m)
	r.idle = owed <= m
	if r.idle {
		r.allowance = math.Min(r.allowance, depth)
	}
	r.held = wanted - m
	return m
}
