package sluice

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluicepb"
)

// reconciler runs inside a worker: it takes part in the election of the queue's reconciler and,
// while it holds the lease, audits B + T − S + O against the window W and mints a confirmed
// deficit or burns a confirmed surplus (§5.5).
type reconciler struct {
	w        *Worker
	interval time.Duration
	creds    jetstream.Consumer // the credit consumer, for burning tokens; nil until found
	// sawLease is true once a reconciler.<q> key has been seen: the first-audit rule of a fresh
	// queue applies only when none existed before this reconciler.
	sawLease bool
}

func newReconciler(w *Worker) *reconciler {
	return &reconciler{w: w, interval: w.cfg.auditInterval}
}

func (r *reconciler) run(ctx context.Context) {
	next := r.interval
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(next):
		}
		actx, cancel := context.WithTimeout(ctx, r.interval*3)
		var err error
		next, err = r.round(actx)
		cancel()
		if err != nil && ctx.Err() == nil {
			r.w.cfg.log.Warn("reconciler audit failed", "worker", r.w.cfg.id, "queue", r.w.queue, "err", err)
			next = r.interval
		}
	}
}

// elect reads the lease and takes or renews it; it returns the lease and its revision when this
// worker holds it, nil otherwise.
func (r *reconciler) elect(ctx context.Context) (*sluicepb.ReconcilerLease, uint64, bool, error) {
	kv, key, now := r.w.ctlKV, ReconcilerKey(r.w.queue), time.Now().UnixMilli()
	expires := now + 3*r.interval.Milliseconds()
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		fresh := !r.sawLease
		lease := &sluicepb.ReconcilerLease{Holder: r.w.cfg.id, ExpiresUnixMs: expires}
		b, _ := Encode(lease)
		rev, err := kv.Create(ctx, key, b)
		if err != nil {
			return nil, 0, false, nil // another worker created it first
		}
		r.sawLease = true
		return lease, rev, fresh, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	r.sawLease = true
	lease := &sluicepb.ReconcilerLease{}
	if err := Decode(e.Value(), lease); err != nil {
		return nil, 0, false, err
	}
	if lease.GetHolder() != r.w.cfg.id && lease.GetExpiresUnixMs() >= now {
		return nil, 0, false, nil
	}
	lease.Holder, lease.ExpiresUnixMs = r.w.cfg.id, expires
	b, _ := Encode(lease)
	rev, err := kv.Update(ctx, key, b, e.Revision())
	if err != nil {
		return nil, 0, false, nil // lost the race
	}
	return lease, rev, false, nil
}

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
	debtors                    bool // a live advert reports a debt
}

// round runs one election and, when this worker holds the lease, one audit. It returns when
// to run the next round.
func (r *reconciler) round(ctx context.Context) (time.Duration, error) {
	lease, rev, fresh, err := r.elect(ctx)
	if err != nil || lease == nil {
		return r.interval, err
	}
	rd, err := r.read(ctx)
	if err != nil {
		return r.interval, err
	}
	d := rd.window - (rd.backlog + rd.tokens - rd.spent + rd.owed - rd.debt)
	prev := lease.GetPreviousDeficit()
	ledger := &sluicepb.Ledger{Window: uint64(rd.window), Backlog: uint64(rd.backlog), Tokens: uint64(rd.tokens),
		HeldSpent: uint64(rd.spent), Owed: uint64(rd.owed), Deficit: d, LiveWorkers: uint32(rd.liveWorkers),
		LiveProducers: uint32(rd.liveProducers), AuditUnixMs: time.Now().UnixMilli(), Debt: uint64(rd.debt),
		RatePerSecond: rd.rate, CapacityWindow: uint64(rd.capacityWindow), UnlimitedWorkers: uint32(rd.unlimited)}
	next := r.interval
	newPrev := d
	switch {
	case d > 0 && (prev > 0 || fresh && rd.lastSeq == 0):
		if rd.debtors && rd.backlog+rd.tokens > 0 {
			break // a debt being absorbed reads as a small deficit while adverts lag
		}
		amount := d
		if prev > 0 {
			amount = min(d, prev)
		}
		minted, err := r.w.minter.mint(ctx, sluicepb.MintReason_MINT_REASON_RECONCILE, Decompose(uint32(amount), uint32(rd.batch)))
		ledger.Minted = uint64(minted)
		newPrev = 0
		if err != nil {
			r.w.cfg.log.Warn("reconciler mint failed", "worker", r.w.cfg.id, "err", err)
		}
	case d < 0 && prev < 0:
		amount := BurnAmount(min(-d, -prev), int64(rd.liveProducers), rd.batch)
		if amount <= 0 {
			break
		}
		for _, a := range rd.absorbers {
			if a.GetDebtSeen() < lease.GetDebtId() {
				return next, r.write(ctx, lease, rev, ledger, d) // an absorber has not read the last debt
			}
		}
		burned := r.burn(ctx, amount, rd.batch)
		ledger.Burned = uint64(burned)
		rest := amount - burned
		if rest > 0 && len(rd.absorbers) > 0 {
			id := max(time.Now().UnixMilli(), lease.GetDebtId()+1)
			lease.DebtId, lease.Debts = id, shareDebt(rest, rd.absorbers)
			ledger.DebtAnnounced = uint64(rest)
			burned += rest
		}
		newPrev = min(0, d+burned)
	case d < 0 && prev >= 0:
		next = r.interval / 4 // confirm a new surplus soon (§5.5 [v1.1])
	}
	r.w.cfg.observer(&Audited{WorkerID: r.w.cfg.id, Window: rd.window, Backlog: rd.backlog, Tokens: rd.tokens,
		Spent: rd.spent, Owed: rd.owed, Deficit: d, Minted: int64(ledger.Minted), Burned: int64(ledger.Burned),
		Announced: int64(ledger.DebtAnnounced)})
	return next, r.write(ctx, lease, rev, ledger, newPrev)
}

func (r *reconciler) write(ctx context.Context, lease *sluicepb.ReconcilerLease, rev uint64, ledger *sluicepb.Ledger, prev int64) error {
	lease.Last, lease.PreviousDeficit = ledger, prev
	b, err := Encode(lease)
	if err != nil {
		return err
	}
	_, err = r.w.ctlKV.Update(ctx, ReconcilerKey(r.w.queue), b, rev)
	return err
}

// read takes the audit's terms: B first, then T together with this worker's own owed credits
// and debt while it mints nothing (§5.5 [v1.2]); other workers count through their adverts.
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
	for _, a := range adverts {
		views = append(views, View(a))
		rd.liveWorkers++
		if a.GetDebt() > 0 {
			rd.debtors = true
		}
		if a.GetAbsorbsDebt() && a.GetState() == stateRunning {
			rd.absorbers = append(rd.absorbers, a)
		}
		if a.GetWorkerId() == w.cfg.id {
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

	ws, err := w.js.Stream(ctx, w.stream)
	if err != nil {
		return rd, err
	}
	info, err := ws.Info(ctx)
	if err != nil {
		return rd, err
	}
	rd.backlog, rd.lastSeq = int64(info.State.Msgs), info.State.LastSeq
	if r.creds == nil {
		if cs, err := w.js.Stream(ctx, CreditStream); err == nil {
			r.creds, _ = cs.Consumer(ctx, CreditConsumer(w.queue))
		}
	}
	var ackPending int64
	if r.creds != nil {
		if ci, err := r.creds.Info(ctx); err == nil {
			ackPending = int64(ci.NumAckPending)
		}
	}

	w.mintMu.Lock()
	tokens, err := StoredCredits(ctx, w.js, w.queue)
	w.mu.Lock()
	ownOwed := int64(w.owed + w.unconfirmed)
	w.mu.Unlock()
	ownDebt, _ := w.debt.State()
	w.mintMu.Unlock()
	if err != nil {
		return rd, err
	}
	rd.tokens = int64(tokens)
	rd.owed += ownOwed
	rd.debt += int64(ownDebt)
	// Reports are not trusted to raise the window (§5.5 [v1.1]).
	rd.spent = min(spent, ackPending*rd.batch, rd.tokens)
	return rd, nil
}

// burn fetches the tokens available at once and acks them, minting back (RETURN) what a token
// held beyond the amount; it returns the credits burned.
func (r *reconciler) burn(ctx context.Context, amount, batch int64) int64 {
	if r.creds == nil {
		return 0
	}
	var burned int64
	for burned < amount {
		got, err := r.creds.FetchNoWait(1)
		if err != nil {
			return burned
		}
		var tok jetstream.Msg
		for m := range got.Messages() {
			tok = m
		}
		if tok == nil {
			return burned
		}
		v := int64(TokenValue(tok.Subject()))
		if v == 0 {
			_ = tok.Term()
			continue
		}
		if err := ackToken(ctx, tok); err != nil {
			return burned
		}
		need := min(v, amount-burned)
		burned += need
		if v > need {
			if _, err := r.w.minter.mint(ctx, sluicepb.MintReason_MINT_REASON_RETURN, Decompose(uint32(v-need), uint32(batch))); err != nil {
				r.w.cfg.log.Warn("reconciler could not mint back a burned token's rest", "worker", r.w.cfg.id, "err", err)
			}
		}
	}
	return burned
}

// shareDebt splits amount over the absorbing adverts in proportion to capacity (equal when all
// are 0), largest remainders first, ties by worker id (§5.5 [v1.1]).
func shareDebt(amount int64, absorbers []*sluicepb.CapacityAdvert) map[string]uint64 {
	type part struct {
		id        string
		share     int64
		remainder int64
	}
	var total int64
	for _, a := range absorbers {
		total += int64(a.GetCapacity())
	}
	parts := make([]part, len(absorbers))
	var given int64
	for i, a := range absorbers {
		weight, sum := int64(a.GetCapacity()), total
		if total == 0 {
			weight, sum = 1, int64(len(absorbers))
		}
		parts[i] = part{id: a.GetWorkerId(), share: amount * weight / sum, remainder: amount * weight % sum}
		given += parts[i].share
	}
	sort.Slice(parts, func(i, j int) bool {
		if parts[i].remainder != parts[j].remainder {
			return parts[i].remainder > parts[j].remainder
		}
		return parts[i].id < parts[j].id
	})
	out := map[string]uint64{}
	for i := range parts {
		if given < amount {
			parts[i].share++
			given++
		}
		out[parts[i].id] = uint64(parts[i].share)
	}
	return out
}
