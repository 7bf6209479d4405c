package peer

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicepb"
)

// The worker's side of the fleet-wide rate limit (PROTOCOL.md §15.2 [v1.3]); the rules are in
// sluice/ratelimit.go.

// refreshRate re-reads the queue's settings (every heartbeat) and sets the rate in force.
func (w *Worker) refreshRate(ctx context.Context) {
	if w.ctlKV == nil {
		return
	}
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var qs *sluicepb.QueueSettings
	e, err := w.ctlKV.Get(gctx, sluice.QueueSettingsKey(w.cfg.Queue))
	if err == nil {
		if qs, err = sluice.DecodeQueueSettings(e.Value()); err != nil {
			return
		}
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return // keep the rate in force until the settings can be read again
	}
	rate, burst := sluice.RateOf(qs)
	var maxCap uint32
	if qs != nil {
		maxCap = qs.GetMaxWorkerCapacity()
	}
	w.rateMaxCap.Store(maxCap)
	w.rl.Configure(rate, burst, w.rateShare(rate), time.Now())
}

// rateShare is this worker's share of rate from the adverts it follows (§15.2).
func (w *Worker) rateShare(rate float64) float64 {
	if !sluice.RateLimited(rate) {
		return 0
	}
	return sluice.RateShareOf(rate, w.capacity(), w.fleet.all(), time.Now().UnixMilli(), w.rateMaxCap.Load())
}

// paced is how many of total credits due to be minted the rate allows now; the rest stays owed
// and the next linger round asks again. A stopping worker mints what it owes unpaced.
func (w *Worker) paced(total uint32) uint32 {
	if total == 0 || !w.rl.On() || w.stopping.Load() {
		return total
	}
	now := time.Now()
	if now.Sub(w.rateShareAt) >= sluice.RateShareRefresh {
		w.rateShareAt = now
		rate, _ := w.rl.Rate()
		w.rl.SetShare(w.rateShare(rate))
	}
	w.mu.Lock()
	owed := max(w.owed, total) // what it owes now, of which it asks for total
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
