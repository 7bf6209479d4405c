package sluice

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluicepb"
)

// token is a held credit token (§6.3).
type token struct {
	msg jetstream.Msg
	n   uint32
	// spent counts reserved and confirmed credits; pending counts reservations whose publish
	// has not finished. The report counts spent − pending (§6 step 1 [v1.3]).
	spent, pending uint32
	lastWPI        time.Time
}

// broadcast wakes everything waiting on the pool; p.mu must be held.
func (p *Producer) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// puller runs one single-message pull with an expiry at a time, and only while the pulls
// outstanding stay within min(prefetch, sends waiting that held credits do not cover) (§6
// step 2): a producer never pulls more tokens than it has sends waiting.
func (p *Producer) puller(ctx context.Context) {
	for {
		p.mu.Lock()
		if p.closing {
			p.mu.Unlock()
			return
		}
		if !p.pullWanted() {
			ch := p.changed
			p.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return
			}
			continue
		}
		p.pulls++
		p.mu.Unlock()
		batch, err := p.creds.Fetch(1, jetstream.FetchMaxWait(p.cfg.pullExpiry))
		if err == nil {
			for m := range batch.Messages() {
				p.receive(m)
			}
			if err = batch.Error(); errors.Is(err, nats.ErrTimeout) {
				err = nil
			}
		}
		p.mu.Lock()
		p.pulls--
		p.broadcast()
		p.mu.Unlock()
		if err != nil {
			p.cfg.log.Warn("token pull failed", "producer", p.cfg.id, "err", err)
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return
			}
		}
	}
}

// pullWanted reports whether a puller should start another pull: the pulls outstanding are
// fewer than min(prefetch, sends waiting that held credits do not cover); p.mu is held. A change
// that leaves it false wakes no puller.
func (p *Producer) pullWanted() bool {
	uncovered := int64(p.waiting) - int64(p.unspentLocked())
	return uncovered > 0 && int64(p.pulls) < min(int64(p.cfg.prefetch), uncovered)
}

// unspentLocked is the number of credits held and not reserved; p.mu is held.
func (p *Producer) unspentLocked() uint32 {
	var n uint32
	for _, t := range p.held {
		n += t.n - t.spent
	}
	return n
}

func (p *Producer) receive(m jetstream.Msg) {
	n := TokenValue(m.Subject())
	if n == 0 {
		p.cfg.log.Warn("dropping token with an invalid subject", "producer", p.cfg.id, "subject", m.Subject())
		_ = m.Term()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		_ = m.Nak()
		return
	}
	p.held = append(p.held, &token{msg: m, n: n, lastWPI: time.Now()})
	p.wakeWaiters()
	p.broadcast()
}

// acquireError explains a send that waited longer than the acquire timeout (§6.8); p.mu is held.
func (p *Producer) acquireError(ctx context.Context, waited time.Duration) error {
	p.mu.Unlock()
	defer p.mu.Lock()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ads, err := p.liveAdvertsNow(rctx)
	if err != nil {
		return &CreditTimeoutError{Reason: AllCreditsInUse, Queue: p.queue, Waited: waited,
			Message: fmt.Sprintf("no credit, and the capacity adverts are unreadable (%v)", err)}
	}
	var standing uint32
	var bounds Bounds
	if s, err := queueSettings(rctx, p.ctlKV, p.queue); err == nil && s != nil {
		standing = s.GetStandingBuffer()
		bounds = Bounds{MaxWorkerCapacity: s.GetMaxWorkerCapacity(), MaxWindow: s.GetMaxWindow()}
	}
	var views []AdvertView
	for _, a := range ads {
		views = append(views, View(a))
	}
	w := Window(standing, bounds, views, time.Now().UnixMilli())
	if len(ads) == 0 && standing == 0 {
		return &CreditTimeoutError{Reason: NoLiveWorkers, Queue: p.queue, Waited: waited,
			Message: "no live workers for queue " + p.queue + ": start a worker"}
	}
	if w == 0 {
		// Live workers, none with capacity: as the Java producer says it (NO_LIVE_WORKERS).
		return &CreditTimeoutError{Reason: NoLiveWorkers, Queue: p.queue, Waited: waited,
			Message: fmt.Sprintf("%d worker(s) are live but none advertises capacity (circuit open, draining, or failing): check the workers' health and logs", len(ads))}
	}
	return &CreditTimeoutError{Reason: AllCreditsInUse, Queue: p.queue, Waited: waited,
		Message: fmt.Sprintf("all credits in use (live window %d): the workers are slower than the producers; retry later or add workers", w)}
}

// finish ends a reservation: refunded, or confirmed as spent.
func (p *Producer) finish(t *token, refund bool) { p.endReservation(t, refund, false, "") }

// finishSent ends the reservation of a message stored: its credit is spent, and it counts in
// the report's sent_total (and granted_total of its fairness key, §15.3).
func (p *Producer) finishSent(t *token, key string) { p.endReservation(t, false, true, key) }

// endReservation is one lock for the end of a send. A refund can serve a waiting send; a spent
// credit changes nothing the pullers or waiting sends look at, so it wakes nobody.
func (p *Producer) endReservation(t *token, refund, sent bool, key string) {
	p.mu.Lock()
	t.pending--
	p.publishing.Done()
	if refund {
		t.spent--
		p.wakeWaiters()
		p.broadcast()
	}
	if sent {
		p.sentTotal++
		if key != "" {
			p.keyGranted[key]++
		}
	}
	full := t.spent == t.n && t.pending == 0
	p.mu.Unlock()
	if full {
		select {
		case p.reportNow <- struct{}{}:
		default:
		}
	}
}

// reporter writes the report every interval while holding or waiting, acks fully spent tokens
// after the report that excludes them, extends held tokens, and returns idle ones (§6.1–§6.7).
func (p *Producer) reporter(ctx context.Context) {
	t := time.NewTicker(p.cfg.reportInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.reportNow:
		}
		// Not ctx: a cycle cancelled between its report and its acks would drop spent tokens
		// from the pool without acking them, leaving their credits stored (a surplus).
		if err := p.settle(context.Background(), false); err != nil && ctx.Err() == nil {
			p.cfg.log.Warn("producer report cycle failed", "producer", p.cfg.id, "err", err)
		}
	}
}

// settle does one report cycle; with all set it returns every held token (close).
func (p *Producer) settle(ctx context.Context, all bool) error {
	now := time.Now()
	p.mu.Lock()
	var spentOut, returned, keep []*token
	idle := p.waiting == 0 && now.Sub(p.lastActivity) >= p.cfg.idleReturn
	for _, t := range p.held {
		switch {
		case t.pending > 0:
			keep = append(keep, t)
		case t.spent == t.n:
			spentOut = append(spentOut, t)
		case all || idle:
			returned = append(returned, t)
		default:
			keep = append(keep, t)
		}
	}
	p.held = keep
	var wpi []*token
	r := &sluicepb.ProducerReport{ProducerId: p.cfg.id, Queue: p.queue, Waiting: uint32(p.waiting),
		HeartbeatUnixMs: now.UnixMilli(), TtlMs: uint32(p.cfg.reportTTL.Milliseconds()), Language: Lang, SentTotal: p.sentTotal,
		FairnessKeys: p.fairnessReportLocked()}
	for _, t := range keep {
		// §6 step 1 [v1.3]: only credits whose publish the stream has stored. A publish in
		// progress is not in B yet: counted in S it would read as a deficit (counted nowhere),
		// and with as many in progress as sends the reconciler would mint it.
		r.HeldSpent += t.spent - t.pending
		r.HeldUnspent += t.n - t.spent
		if now.Sub(t.lastWPI) >= p.lease/3 {
			t.lastWPI = now
			wpi = append(wpi, t)
		}
	}
	active := len(keep) > 0 || p.waiting > 0 || len(spentOut) > 0 || len(returned) > 0
	write := active || p.reported
	p.reported = active
	if len(returned) > 0 || len(spentOut) > 0 {
		p.broadcast()
	}
	p.mu.Unlock()

	for _, t := range wpi {
		_ = t.msg.InProgress()
	}
	if write {
		if err := p.writeReport(ctx, r); err != nil {
			// Acking now could under-count: put the tokens back and try again next cycle.
			p.mu.Lock()
			p.held = append(p.held, spentOut...)
			p.held = append(p.held, returned...)
			p.reported = true
			p.mu.Unlock()
			return fmt.Errorf("writing report: %w", err)
		}
	}
	var firstErr error
	var unacked []*token
	defer func() {
		// A token whose ack failed is still stored: keep holding it and ack it next cycle.
		if len(unacked) > 0 {
			p.mu.Lock()
			p.held = append(p.held, unacked...)
			p.mu.Unlock()
		}
	}()
	for _, t := range spentOut {
		if err := ackToken(ctx, t.msg); err != nil {
			unacked = append(unacked, t)
			if firstErr == nil {
				firstErr = fmt.Errorf("acking spent token: %w", err)
			}
		}
	}
	for _, t := range returned {
		if t.spent == 0 {
			if err := t.msg.Nak(); err != nil && firstErr == nil {
				firstErr = fmt.Errorf("returning token: %w", err)
			}
			continue
		}
		// Partly spent: acked after the report that excludes it; the unspent rest is a deficit
		// the reconciler mints. A producer never publishes tokens (§6.7 [v1.1], §2.1).
		if err := ackToken(ctx, t.msg); err != nil {
			unacked = append(unacked, t)
			if firstErr == nil {
				firstErr = fmt.Errorf("acking partly spent token: %w", err)
			}
			continue
		}
		p.cfg.observer(&CreditsReturned{ProducerID: p.cfg.id, Unspent: t.n - t.spent})
	}
	return firstErr
}

func ackToken(ctx context.Context, m jetstream.Msg) error {
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return m.DoubleAck(actx)
}

func (p *Producer) writeReport(ctx context.Context, r *sluicepb.ProducerReport) error {
	b, err := Encode(r)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = p.ctlKV.Put(wctx, ProducerReportKey(p.queue, p.cfg.id), b)
	return err
}

// fairnessReportLocked is ProducerReport.fairness_keys (§15.3): every key this producer has sent
// or is waiting to send, with weight 1 (the Go producer takes no weights); p.mu is held.
func (p *Producer) fairnessReportLocked() []*sluicepb.FairnessKeyState {
	if len(p.keyGranted) == 0 && len(p.keyWaiting) == 0 {
		return nil
	}
	keys := make([]string, 0, len(p.keyGranted)+len(p.keyWaiting))
	for k := range p.keyGranted {
		keys = append(keys, k)
	}
	for k := range p.keyWaiting {
		if _, seen := p.keyGranted[k]; !seen {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]*sluicepb.FairnessKeyState, 0, len(keys))
	for _, k := range keys {
		out = append(out, &sluicepb.FairnessKeyState{Key: k, Weight: 1, Waiting: p.keyWaiting[k], GrantedTotal: p.keyGranted[k]})
	}
	return out
}
