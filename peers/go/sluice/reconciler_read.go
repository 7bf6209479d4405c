package sluice

import (
	"context"
	"errors"
	"strings"
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
	// heldTokens is the credit consumer's num_ack_pending, read with T (§5.5 [v1.3]).
	heldTokens int64
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
// This worker's plain finishing acks are confirmed before B and held while it is read (§5.5
// [v1.3]). Other workers count through their adverts. The tokens producers hold are read right
// before and right after T, the reports last (liveReports).
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

	// The stream handles first, so that the gate below spans the requests for B, the held tokens
	// and T only; the held tokens again and the reports are read right after T.
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
	ctl, err := w.js.Stream(ctx, "KV_"+ControlBucket)
	if err != nil {
		return rd, err
	}

	// This worker's plain finishing acks (§5.4) are counted as owed from when they are sent, but
	// the server takes acks from a queue: under load a message acked a moment ago is still in B,
	// counted twice, a false surplus as large as that queue, which two audits in a row can read
	// past the tolerance (credits that exist would be burned). So while B is read no finishing
	// ack is sent (ackGate), the acks sent before are confirmed first (once the double ack is
	// answered, every earlier ack has been taken and its message is out of B), and of the acks
	// sent after B's answer none is counted: their messages were in B (§5.5 [v1.3]).
	// The tokens producers hold are read before B and again right after T (below). The first
	// reading comes before B rather than between B and T: a round trip there lengthens the gap
	// in which credits spent and reported are in S but not yet in B, a false deficit (§5.5
	// [v1.3]).
	heldBefore, err := r.heldTokens(ctx)
	if err != nil {
		return rd, err
	}
	w.mintMu.Lock()
	w.ackGate.Lock()
	err = w.confirm(ctx)
	var info *jetstream.StreamInfo
	if err == nil {
		info, err = ws.Info(ctx)
	}
	w.mu.Lock()
	sentByB := w.unconfirmed
	w.mu.Unlock()
	w.ackGate.Unlock()
	var tokens uint64
	if err == nil {
		tokens, err = storedCredits(ctx, cs, w.queue)
	}
	w.mu.Lock()
	ownOwed := int64(w.owed + min(w.unconfirmed, sentByB))
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
	// The tokens producers hold (num_ack_pending), read with T rather than after the reports.
	// What they have spent and not yet reported is in B and in T but not in S, and the burn
	// tolerance covers it (§5.5 [v1.3]); it also bounds S (§5.5 [v1.1]). Read once before B
	// and once right after T, the larger: a busy producer acks its spent tokens about a
	// millisecond apart, so a single reading after T misses the tokens acked right after T
	// (counted in T, their credits also in B or owed, and not in the tolerance: a false surplus
	// of a token each: under load the audits that announced false debts read 1–9 tokens fewer
	// after T than before it, NOTES.md item 29), and a single reading before B misses a token
	// pulled and spent in between. In the larger of the two, a token acked before T only raises
	// the tolerance by its b (a real surplus burns at a later audit). A failed reading fails
	// the audit: read as 0 it would drop the tolerance.
	heldAfter, err := r.heldTokens(ctx)
	if err != nil {
		return rd, err
	}
	rd.heldTokens = max(heldBefore, heldAfter)

	// The producers' reports after B and T: a report lags its producer's spending, and a credit
	// spent after the report was read is in B and in T but not in S (a false surplus); read
	// after B and T, the reports cover more of what was spent before those readings.
	reports, err := liveReports(ctx, ctl, w.ctlKV, w.queue, now)
	if err != nil {
		return rd, err
	}
	var spent int64
	for _, rep := range reports {
		rd.liveProducers++
		spent += int64(rep.GetHeldSpent())
	}
	// Reports are not trusted to raise the window (§5.5 [v1.1]).
	rd.spent = min(spent, rd.heldTokens*rd.batch, rd.tokens)
	return rd, nil
}

// liveReports is the live producer reports of q (§5.5). The keys come from the control bucket
// stream's subjects (one stored message per key, a delete marker for a deleted one), not from a
// key listing or a watch read to the end of its initial values: those are a consumer delivering
// each key's last message, and a report rewritten while it runs (a busy producer writes one per
// token it acks) can fall out of it, which reads as no producer: no spent credits, no tolerance,
// a surplus. A failed read fails the audit.
func liveReports(ctx context.Context, s jetstream.Stream, kv jetstream.KeyValue, q string, now int64) ([]*sluicepb.ProducerReport, error) {
	prefix := "$KV." + ControlBucket + "."
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(prefix+"producer."+q+".*"))
	if err != nil {
		return nil, err
	}
	var out []*sluicepb.ProducerReport
	for subj := range info.State.Subjects {
		e, err := kv.Get(ctx, strings.TrimPrefix(subj, prefix))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted: a producer that closed
		}
		if err != nil {
			return nil, err
		}
		rep, err := DecodeReport(e.Value())
		if err == nil && rep.GetHeartbeatUnixMs()+int64(rep.GetTtlMs()) >= now {
			out = append(out, rep)
		}
	}
	return out, nil
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

// heldTokens is the credit consumer's num_ack_pending: the tokens delivered and not acked, which
// producers hold (§5.5). 0 while the consumer is not found.
func (r *reconciler) heldTokens(ctx context.Context) (int64, error) {
	if r.creds == nil {
		return 0, nil
	}
	ci, err := r.creds.Info(ctx)
	if err != nil {
		r.creds = nil // looked up again at the next audit
		return 0, err
	}
	return int64(ci.NumAckPending), nil
}
