package sluice

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluicepb"
)

// reading is one audit's terms (§5.5).
type reading struct {
	window, backlog, tokens, spent, owed, debt int64
	// §15.2: the rate in force, the window before its cap, and the RUNNING workers that do not
	// mint within a share of it (revision 1.2).
	rate                       float64
	capacityWindow             int64
	unlimited                  int
	liveWorkers, liveProducers int
	lastSeq                    uint64
	batch                      int64
	absorbers                  []*sluicepb.CapacityAdvert
	// own is this worker's advert as the bucket holds it (nil when missing): the reconciler makes
	// no correction while it is missing or old (§5.5 [v1.3] stale view).
	own *AdvertView
}

// read takes the audit's terms. B, T and this worker's own owed credits and debt are read
// together while it mints nothing (§5.5 [v1.2]), B first: a message finished in between is
// counted twice (a false surplus, which needs a second reading), never nowhere (a false deficit
// would be minted). B is read inside the mint gate, so only T's round trip lies between B and the
// worker's own owed credits: under load every message finished in a longer gap (a mint's round
// trips, the stream lookups) is counted twice, a systematic surplus larger than the tolerance.
// Other workers count through their adverts.
func (r *reconciler) read(ctx context.Context) (reading, error) {
	w := r.w
	var rd reading
	rd.batch = 32
	var standing uint32
	var bounds Bounds
	var rate float64
	var burst uint32
	if s, err := queueSettings(ctx, w.ctlKV, w.queue); err != nil {
		return rd, err
	} else if s != nil {
		rate, burst = RateOf(s) // §15.2
		standing = s.GetStandingBuffer()
		bounds = Bounds{MaxWorkerCapacity: s.GetMaxWorkerCapacity(), MaxWindow: s.GetMaxWindow()}
		if IsPowerOfTwo(s.GetTokenBatch()) {
			rd.batch = int64(s.GetTokenBatch())
		}
	}
	perWorker := int64(bounds.MaxWorkerCapacity)
	if perWorker == 0 {
		perWorker = DefaultMaxWorkerCapacity
	}
	adverts, err := liveAdverts(ctx, w.capKV, w.queue)
	if err != nil {
		return rd, err
	}
	now := time.Now().UnixMilli()
	var views []AdvertView
	var own *sluicepb.CapacityAdvert
	for _, a := range adverts {
		views = append(views, View(a))
		rd.liveWorkers++
		if a.GetAbsorbsDebt() && a.GetState() == stateRunning {
			rd.absorbers = append(rd.absorbers, a)
		}
		if a.GetWorkerId() == w.cfg.id {
			own = a
			v := View(a)
			rd.own = &v
			continue // read live below
		}
		rd.owed += min(int64(a.GetOwedCredits()), perWorker)
		rd.debt += int64(a.GetDebt())
	}
	rd.window = int64(Window(standing, bounds, views, now))
	if RateLimited(rate) { // §15.2: audit against the window the rate caps
		running := 0
		for _, a := range adverts {
			if a.GetState() == stateRunning {
				running++
				if !a.GetRateLimited() {
					rd.unlimited++
				}
			}
		}
		rd.rate, rd.capacityWindow = rate, rd.window
		rd.window = int64(RateWindow(uint64(rd.window), rate, uint64(burst), running))
	}

	reports, err := readAll(ctx, w.ctlKV, "producer."+w.queue+".*")
	if err != nil {
		return rd, err
	}
	var spent int64
	for _, e := range reports {
		rep, err := DecodeReport(e.Value())
		if err == nil && rep.GetHeartbeatUnixMs()+int64(rep.GetTtlMs()) >= now {
			rd.liveProducers++
			spent += int64(rep.GetHeldSpent())
		}
	}

	// The stream handles first, so that the gate below spans one request for B and one for T.
	ws, err := w.js.Stream(ctx, w.stream)
	if err != nil {
		return rd, err
	}
	cs, err := w.js.Stream(ctx, CreditStream)
	if err != nil {
		return rd, err
	}
	if r.creds == nil {
		r.creds, _ = cs.Consumer(ctx, CreditConsumer(w.queue))
	}
	var ackPending int64
	if r.creds != nil {
		if ci, err := r.creds.Info(ctx); err == nil {
			ackPending = int64(ci.NumAckPending)
		}
	}

	w.mintMu.Lock()
	info, err := ws.Info(ctx)
	var tokens uint64
	if err == nil {
		tokens, err = storedCredits(ctx, cs, w.queue)
	}
	w.mu.Lock()
	ownOwed := int64(w.owed + w.unconfirmed)
	w.mu.Unlock()
	ownDebt, ownSeen := w.debt.State()
	w.mintMu.Unlock()
	if err != nil {
		return rd, err
	}
	rd.backlog, rd.lastSeq = int64(info.State.Msgs), info.State.LastSeq
	rd.tokens = int64(tokens)
	rd.owed += ownOwed
	rd.debt += int64(ownDebt)
	if own != nil {
		// The newest announcement this worker has read, live: its advert learns it only at the
		// next heartbeat, and until then the rest of a growing surplus would wait.
		own.DebtSeen = ownSeen
	}
	// Reports are not trusted to raise the window (§5.5 [v1.1]).
	rd.spent = min(spent, ackPending*rd.batch, rd.tokens)
	return rd, nil
}

// storedCredits is T for q in the credit stream s (§5.3).
func storedCredits(ctx context.Context, s jetstream.Stream, q string) (uint64, error) {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(CreditFilter(q)))
	if err != nil {
		return 0, err
	}
	var total uint64
	for subj, n := range info.State.Subjects {
		total += uint64(TokenValue(subj)) * n
	}
	return total, nil
}
