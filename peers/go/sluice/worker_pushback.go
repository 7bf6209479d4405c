package sluice

import (
	"context"
	"math/rand"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The worker's side of pushback (PROTOCOL.md §15.1 [v1.3]); the AIMD rule and the gate are in
// pushback.go. A handler that returns Overloaded keeps its delivery in hand: no NAK, so the
// delivery count does not grow and a pushback is never an attempt nor a reason to dead-letter.

const (
	// pushbackTick is the period of the AIMD's increase step (§15.1: at least every increase
	// interval; 100 ms keeps the step within a tenth of the default 1 s).
	pushbackTick = 100 * time.Millisecond
	// pushbackPoll is how often the pull loop looks again at a lowered limit that may have grown.
	pushbackPoll = 50 * time.Millisecond
)

// nominal is the configured capacity (§5.2) that pushback lowers.
func (w *Worker) nominal() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int(w.capacity())
}

// pushedBack records the n-th pushback of a delivery (lowering the capacity unless switched off)
// and holds the delivery for its delay, sending +WPI every ack wait / 3. It returns the delay
// still to wait when shutdown began (ok false), so the caller NAKs with it (§15.1, §7.6).
func (w *Worker) pushedBack(msg jetstream.Msg, msgID string, k, n int, ov *OverloadedError) (rest time.Duration, ok bool) {
	w.pushbacks.Add(1)
	if w.pb != nil {
		w.pb.Pushed(time.Now().UnixMilli())
	}
	w.cfg.metrics.Add(MetricPushbacks, 1)
	retryMs := int64(-1)
	if ov.RetryAfter > 0 {
		retryMs = ov.RetryAfter.Milliseconds()
	}
	delay := time.Duration(PushbackDelayMs(retryMs, n, w.cfg.settings.Backoff, rand.Float64()) * float64(time.Millisecond))
	w.cfg.observer(&PushedBack{WorkerID: w.cfg.id, MsgID: msgID, Attempt: k, Pushbacks: n, Delay: delay})
	until := time.Now().Add(delay)
	every := max(w.ackWait/3, time.Millisecond)
	progress := time.NewTicker(every)
	defer progress.Stop()
	wait := time.NewTimer(delay)
	defer wait.Stop()
	for {
		select {
		case <-wait.C:
			return 0, true
		case <-progress.C:
			_ = msg.InProgress()
		case <-w.stopped:
			return max(time.Until(until), 0), false
		}
	}
}

// pushbackTicks runs the AIMD's periodic step until ctx ends.
func (w *Worker) pushbackTicks(ctx context.Context) {
	if w.pb == nil {
		return
	}
	t := time.NewTicker(pushbackTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			w.pb.Tick(now.UnixMilli(), false, w.inHand.Load() == 0)
		}
	}
}

// advertisedCapacity is the capacity lowered by pushback and the configured one (§15.1).
func (w *Worker) advertisedCapacity(nominal uint32) uint32 {
	if w.pb == nil {
		return nominal
	}
	return uint32(w.pb.AIMD.Capacity(int(nominal)))
}
