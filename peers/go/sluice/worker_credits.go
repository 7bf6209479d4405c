package sluice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluicepb"
)

const (
	stateRunning     = sluicepb.WorkerState_WORKER_STATE_RUNNING
	stateDraining    = sluicepb.WorkerState_WORKER_STATE_DRAINING
	stateCircuitOpen = sluicepb.WorkerState_WORKER_STATE_CIRCUIT_OPEN
)

// state is RUNNING, or CIRCUIT_OPEN while the circuit breaker is open or probing.
func (w *Worker) state() sluicepb.WorkerState {
	if w.breaker.open() {
		return stateCircuitOpen
	}
	return stateRunning
}

// owe records n finished deliveries (§5.4); completed counts toward the service rate.
func (w *Worker) owe(n uint32, completed bool) {
	w.mu.Lock()
	w.owed += n
	w.completed += uint64(n)
	if completed {
		w.rateCount += uint64(n)
	}
	w.mu.Unlock()
	w.signalMint()
}

func (w *Worker) signalMint() {
	select {
	case w.mintSignal <- struct{}{}:
	default:
	}
}

// confirm turns the plain acks sent so far into owed credits once a double ack on the last of
// them is answered (§5.4).
func (w *Worker) confirm(ctx context.Context) error {
	w.mu.Lock()
	n, last, processed, events := w.unconfirmed, w.lastAcked, w.processing, len(w.confirming)
	w.mu.Unlock()
	if n == 0 {
		return nil
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// A request, not DoubleAck: nats.go refuses to ack a message twice on the client side.
	if _, err := w.nc.RequestWithContext(actx, last.Reply(), []byte("+ACK")); err != nil {
		return fmt.Errorf("confirming acks: %w", err)
	}
	w.mu.Lock()
	w.unconfirmed -= n
	w.owed += n
	if w.unconfirmed == 0 {
		w.lastAcked = nil
	}
	w.processing -= processed
	done := w.confirming[:events:events]
	w.confirming = append([]*Processed(nil), w.confirming[events:]...)
	w.mu.Unlock()
	if processed > 0 {
		w.processed.Add(processed)
		w.cfg.metrics.Add(MetricProcessed, processed)
	}
	for _, p := range done {
		w.cfg.observer(p)
	}
	return nil
}

// linger is floor(clamp(b' / service_rate × 1000, 2, 20)) ms, 20 ms with no rate yet (§5.4).
func (w *Worker) linger() time.Duration {
	w.mu.Lock()
	rate := w.rate
	w.mu.Unlock()
	return time.Duration(LingerMs(w.cfg.tokenBatch, rate)) * time.Millisecond
}

// minterLoop mints b'-tokens whenever owed ≥ b' and the remainder once the linger expires (§5.4).
func (w *Worker) minterLoop(ctx context.Context) {
	var timer *time.Timer
	var timerC <-chan time.Time
	for {
		all := false
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-w.mintSignal:
		case <-timerC:
			all, timer, timerC = true, nil, nil
		}
		if err := w.mintOwed(ctx, all); err != nil && ctx.Err() == nil {
			w.cfg.log.Warn("minting owed credits failed", "worker", w.cfg.id, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			select {
			case w.mintSignal <- struct{}{}:
			default:
			}
			continue
		}
		w.mu.Lock()
		rest := w.owed + w.unconfirmed
		w.mu.Unlock()
		if rest > 0 && timerC == nil {
			timer = time.NewTimer(w.linger())
			timerC = timer.C
		}
	}
}

// mintOwed mints the owed credits that fill whole batches, or all of them when all is set.
func (w *Worker) mintOwed(ctx context.Context, all bool) error {
	w.mintMu.Lock()
	defer w.mintMu.Unlock()
	w.mu.Lock()
	pending := w.owed + w.unconfirmed
	w.mu.Unlock()
	if !all && pending < w.cfg.tokenBatch {
		return nil // the linger mints the rest
	}
	if err := w.confirm(ctx); err != nil {
		return err
	}
	w.mu.Lock()
	owed := w.owed
	w.mu.Unlock()
	b := w.cfg.tokenBatch
	total := owed
	if !all {
		total = owed - owed%b
	}
	// §5.5: credits withheld for the reconciler's debt are owed no more and never minted.
	if k := uint32(w.debt.Withhold(uint64(total))); k > 0 {
		w.mu.Lock()
		w.owed -= k
		w.mu.Unlock()
		total -= k
	}
	total = w.paced(total) // §15.2: the rest stays owed
	for _, n := range Decompose(total, b) {
		minted, err := w.minter.mint(ctx, sluicepb.MintReason_MINT_REASON_REPLENISH, []uint32{n})
		w.mu.Lock()
		w.owed -= minted
		w.mintedTotal += uint64(minted)
		w.mu.Unlock()
		w.cfg.metrics.Add(MetricMinted, int64(minted))
		if err != nil {
			return err
		}
	}
	return nil
}

// capacity is the advertised capacity (§5.2); w.mu is held when it reads the rate.
func (w *Worker) capacity() uint32 {
	if w.cfg.capacity > 0 {
		return w.cfg.capacity
	}
	if w.cfg.latencyTarget > 0 {
		return LatencyCapacity(uint32(w.cfg.concurrency), w.cfg.maxCapacity, w.rate, w.cfg.latencyTarget.Seconds(), w.cfg.tokenBatch)
	}
	return uint32(w.cfg.concurrency + w.cfg.prefetch)
}

func (w *Worker) advertise(ctx context.Context, state sluicepb.WorkerState) error {
	w.mu.Lock()
	now := time.Now()
	if dt := now.Sub(w.rateAt).Seconds(); dt >= 0.5 {
		w.rate = ServiceRate(w.rate, w.rateCount, dt)
		w.rateCount, w.rateAt = 0, now
	}
	a := &sluicepb.CapacityAdvert{
		WorkerId: w.cfg.id, Queue: w.queue, ProtocolVersion: Protocol,
		InFlight: uint32(w.inHand.Load()), ServiceRate: w.rate, HeartbeatUnixMs: now.UnixMilli(),
		TtlMs: uint32(w.cfg.advertTTL.Milliseconds()), State: state, OwedCredits: w.owed + w.unconfirmed, Language: Lang,
		CompletedTotal: w.completed, MintedTotal: w.mintedTotal, TokenBatch: w.cfg.tokenBatch,
		AbsorbsDebt: w.ctlKV != nil,
		RateLimited: true, // §15.2: mints within its share of the rate
		// Why it reports itself failing (§5.2): informational, nothing below reads it.
		Problem: w.problemLines(),
	}
	a.Debt, a.DebtSeen = w.debt.State()
	_, a.RateShare = w.rl.Rate() // §15.2
	if state == stateRunning {
		a.NominalCapacity = w.capacity()
	}
	w.mu.Unlock()
	// §15.1: the capacity lowered by pushback beside the configured one (pb takes no w.mu).
	a.Capacity = w.advertisedCapacity(a.NominalCapacity)
	a.PushbacksTotal = w.pushbacks.Load()
	if w.pb != nil {
		a.PushbackDecreasesTotal, a.LoweredSinceUnixMs = w.pb.AIMD.Decreases(), w.pb.AIMD.LoweredSinceMs()
	}
	for _, t := range w.handled {
		a.Handled = append(a.Handled, &sluicepb.HandledType{Type: t.Type, MinVersion: uint32(t.MinVersion), MaxVersion: uint32(t.MaxVersion)})
	}
	b, err := Encode(a)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = w.capKV.Put(pctx, CapacityKey(w.queue, w.cfg.id), b)
	return err
}

// readLease learns this worker's share of the reconciler's newest debt announcement (§5.5).
func (w *Worker) readLease(ctx context.Context) {
	if w.ctlKV == nil {
		return
	}
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	lease := &sluicepb.ReconcilerLease{}
	e, err := w.ctlKV.Get(gctx, ReconcilerKey(w.queue))
	if err == nil {
		if err := Decode(e.Value(), lease); err != nil {
			return
		}
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return
	}
	w.debt.Offer(lease, w.cfg.id)
}

func (w *Worker) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(w.cfg.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.readLease(ctx)
			w.refreshRate(ctx) // §15.2
			if err := w.advertise(ctx, w.state()); err != nil && ctx.Err() == nil {
				w.cfg.log.Warn("writing the capacity advert failed", "worker", w.cfg.id, "err", err)
			}
		}
	}
}
