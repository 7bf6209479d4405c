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
	// stale is true while the audits find this worker's own advert missing or old (§5.5 [v1.3]).
	stale bool
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
	now := time.Now().UnixMilli()
	ledger := &sluicepb.Ledger{Window: uint64(rd.window), Backlog: uint64(rd.backlog), Tokens: uint64(rd.tokens),
		HeldSpent: uint64(rd.spent), Owed: uint64(rd.owed), Deficit: d, LiveWorkers: uint32(rd.liveWorkers),
		LiveProducers: uint32(rd.liveProducers), AuditUnixMs: now, Debt: uint64(rd.debt),
		RatePerSecond: rd.rate, CapacityWindow: uint64(rd.capacityWindow), UnlimitedWorkers: uint32(rd.unlimited)}
	if StaleView(rd.own, now) {
		// §5.5 [v1.3]: a view without this worker's current advert gives a wrong window. No
		// correction, and previous 0 so that the first audit on a current view is confirmed.
		if !r.stale {
			r.w.cfg.log.Warn("reconciler makes no correction while its own advert is missing or old in the bucket",
				"worker", r.w.cfg.id, "queue", r.w.queue)
		}
		r.stale = true
		r.observe(rd, d, ledger)
		return r.interval, r.write(ctx, lease, rev, ledger, 0)
	}
	r.stale = false
	next := r.interval
	newPrev := d
	var announced *sluicepb.ReconcilerLease
	switch {
	case d > 0 && (prev > 0 || fresh && rd.lastSeq == 0):
		if MintHeldBack(rd.debt, rd.backlog, rd.owed) {
			break // a debt being absorbed reads as a small deficit while adverts lag (§5.5 [v1.3])
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
		amount := BurnAmount(min(-d, -prev), int64(rd.liveProducers), rd.batch, rd.heldTokens, rd.spent)
		if amount <= 0 {
			break
		}
		for _, a := range rd.absorbers {
			if a.GetDebtSeen() < lease.GetDebtId() {
				return next, r.write(ctx, lease, rev, ledger, d) // an absorber has not read the last debt
			}
		}
		// The tokens nobody holds burn at once: an idle queue's surplus lies there. Only what
		// producers hold becomes a debt, no more than the workers still have to finish (§5.5
		// [v1.3]); with nothing to finish (payable 0) nothing is announced and every unheld token
		// was fetched, whatever it took (the fetches end at the first that finds none).
		burned := r.burn(ctx, amount, rd.batch)
		ledger.Burned = uint64(burned)
		var rest int64
		if len(rd.absorbers) > 0 {
			rest = DebtAnnounced(amount, burned, DebtPayable(rd.backlog, rd.owed, rd.debt))
		}
		if rest > 0 {
			id := max(now, lease.GetDebtId()+1)
			lease.DebtId, lease.Debts = id, shareDebt(rest, rd.absorbers)
			ledger.DebtAnnounced = uint64(rest)
			announced = &sluicepb.ReconcilerLease{DebtId: id, Debts: lease.Debts}
		}
		newPrev = NextPrevious(0, burned, rest, d)
		if rest > 0 && newPrev < 0 {
			next = r.interval / 4 // the rest of a surplus that grew is read again soon (§5.5 [v1.3])
		}
	case d < 0 && prev >= 0:
		next = r.interval / 4 // confirm a new surplus soon (§5.5 [v1.1])
	}
	r.observe(rd, d, ledger)
	if err := r.write(ctx, lease, rev, ledger, newPrev); err != nil {
		return next, err
	}
	if announced != nil {
		// This worker starts on its own share now, not at its next read of the lease; only once
		// the lease is written, so that a share is never taken of a debt that was not announced.
		r.w.debt.Offer(announced, r.w.cfg.id)
	}
	return next, nil
}

// observe reports an audit to the worker's observer.
func (r *reconciler) observe(rd reading, d int64, ledger *sluicepb.Ledger) {
	r.w.cfg.observer(&Audited{WorkerID: r.w.cfg.id, Window: rd.window, Backlog: rd.backlog, Tokens: rd.tokens,
		Spent: rd.spent, Owed: rd.owed, Deficit: d, Minted: int64(ledger.Minted), Burned: int64(ledger.Burned),
		Announced: int64(ledger.DebtAnnounced)})
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

// burnFetchMax is the most tokens one fetch of a burn asks for.
const burnFetchMax = 256

// burn fetches the tokens nobody holds and acks them until amount credits are burned or a fetch
// finds none, minting back (RETURN) what a token held beyond the amount; it returns the credits
// burned. Each fetch asks for the tokens the rest needs at b credits a token (tokens are at most
// b), so only the last one fetched can hold more than is needed; a token larger than b that
// makes the others unneeded has them returned to the stream (NAK).
func (r *reconciler) burn(ctx context.Context, amount, batch int64) int64 {
	if r.creds == nil {
		return 0
	}
	var burned int64
	for burned < amount {
		want := int(min(burnFetchMax, (amount-burned+batch-1)/batch))
		got, err := r.creds.FetchNoWait(want)
		if err != nil {
			return burned
		}
		n := 0
		for tok := range got.Messages() {
			n++
			if burned >= amount {
				_ = tok.Nak()
				continue
			}
			v := int64(TokenValue(tok.Subject()))
			if v == 0 {
				_ = tok.Term()
				continue
			}
			if err := ackToken(ctx, tok); err != nil {
				continue // not burned: it is redelivered after the ack wait
			}
			need := min(v, amount-burned)
			burned += need
			if v > need {
				if _, err := r.w.minter.mint(ctx, sluicepb.MintReason_MINT_REASON_RETURN, Decompose(uint32(v-need), uint32(batch))); err != nil {
					r.w.cfg.log.Warn("reconciler could not mint back a burned token's rest", "worker", r.w.cfg.id, "err", err)
				}
			}
		}
		if n == 0 {
			return burned // every remaining token is held: the rest is for the debt or a later audit
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
