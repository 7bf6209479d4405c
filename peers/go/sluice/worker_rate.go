package sluice

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"sluice.dev/peers/go/sluicepb"
)

// The worker's side of the fleet-wide rate limit (PROTOCOL.md §15.2 [v1.3]); the rules are in
// ratelimit.go. With no rate set the bucket is off and minting is as in §5.4.

// refreshRate re-reads the queue's settings (at start and every heartbeat) and sets the rate in
// force; while the settings cannot be read the rate in force stays.
func (w *Worker) refreshRate(ctx context.Context) {
	if w.ctlKV == nil {
		return
	}
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var qs *sluicepb.QueueSettings
	e, err := w.ctlKV.Get(gctx, QueueSettingsKey(w.queue))
	if err == nil {
		if qs, err = DecodeQueueSettings(e.Value()); err != nil {
			return
		}
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return
	}
	rate, burst := RateOf(qs)
	var maxCap uint32
	if qs != nil {
		maxCap = qs.GetMaxWorkerCapacity()
	}
	w.rateMaxCap.Store(maxCap)
	w.rl.Configure(rate, burst, w.rateShare(rate), time.Now())
}

// rateShare is this worker's share of rate from the adverts it follows (§15.2).
func (w *Worker) rateShare(rate float64) float64 {
	if !RateLimited(rate) {
		return 0
	}
	w.mu.Lock()
	own := w.capacity()
	w.mu.Unlock()
	own = w.advertisedCapacity(own) // the capacity it advertises: lowered while pushed back (§15.1)
	if w.stopping.Load() || w.state() != stateRunning {
		own = 0 // capacity 0 (draining, circuit open): share 0, what it owes stays owed
	}
	return RateShareOf(rate, own, w.fleet.all(), time.Now().UnixMilli(), w.rateMaxCap.Load())
}

// paced is how many of total credits due to be minted the rate allows now; the rest stays owed
// and the next linger round asks again. A stopping worker mints what it owes unpaced.
func (w *Worker) paced(total uint32) uint32 {
	if total == 0 || !w.rl.On() || w.stopping.Load() {
		return total
	}
	now := time.Now()
	if now.Sub(w.rateShareAt) >= RateShareRefresh {
		w.rateShareAt = now
		rate, _ := w.rl.Rate()
		w.rl.SetShare(w.rateShare(rate))
	}
	w.mu.Lock()
	owed := max(w.owed, total)
	w.mu.Unlock()
	return w.rl.Allow(total, owed, now)
}

// all returns the other workers' adverts the view holds now.
func (f *fleetView) all() []*sluicepb.CapacityAdvert {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*sluicepb.CapacityAdvert, 0, len(f.adverts))
	for _, a := range f.adverts {
		out = append(out, a)
	}
	return out
}
