package sluice

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// handle settles one delivery in the order of §7.2; probe is the circuit's probe number when the
// delivery is the probe (§7.6), else 0.
func (w *Worker) handle(raw jetstream.Msg, probe uint64) {
	md, err := raw.Metadata()
	if err != nil {
		w.cfg.log.Warn("delivery without metadata", "worker", w.cfg.id, "err", err)
		return
	}
	h := map[string][]string(raw.Headers())
	k := int(md.NumDelivered)
	msgID := First(h, HdrMsgID)
	if w.stopping.Load() {
		w.nak(raw, msgID, k, 0, "shutdown")
		return
	}
	d := Delivery{Headers: h, PayloadSize: len(raw.Data()), K: k, AgeMs: time.Since(md.Timestamp).Milliseconds(),
		FleetHandles: w.fleet.handles, FleetDeclines: w.fleet.declines}
	key := "" // the id-key (§9), once the headers are valid
	dec, hc := BeforeHandler(d, w.cfg.settings, w.handled, func(id string) bool { key = IDKey(id); return w.cache.Seen(key) })
	switch dec.Kind {
	case OutcomeDLQ:
		w.deadLetter(raw, md, h, dec.Reason, dec.Error)
		return
	case OutcomeAck:
		// A duplicate: finishing ack without running the handler.
		if err := w.ack(raw, false, nil); err != nil {
			w.cfg.log.Warn("ack of a duplicate failed", "worker", w.cfg.id, "msg_id", msgID, "err", err)
			return
		}
		w.cfg.metrics.Add(MetricDuplicates, 1)
		return
	case OutcomeNak:
		w.nak(raw, msgID, k, NakDelay(dec.DelayMs), "not-handled")
		return
	}

	if w.store != nil && w.checkStore(raw, msgID, k) {
		return
	}
	// Wait for a handler slot; a delivery still waiting at shutdown goes back.
	w.handSem <- struct{}{}
	if w.stopping.Load() {
		<-w.handSem
		w.nak(raw, msgID, k, 0, "shutdown")
		return
	}
	m := &Msg{ID: msgID, Type: hc.Type, Version: hc.Version, Attempt: k, Subject: raw.Subject(),
		Header: raw.Headers(), Data: raw.Data(), StreamSeq: md.Sequence.Stream, Stored: md.Timestamp, raw: raw}
	trace, herr := w.runHandler(m)
	// §15.1: a pushback holds the delivery (no NAK, no attempt) and runs the handler again.
	for n := 1; herr != nil; n++ {
		var ov *OverloadedError
		if !errors.As(herr, &ov) {
			break
		}
		<-w.handSem
		rest, ok := w.pushedBack(raw, msgID, k, n, ov)
		if !ok {
			w.nak(raw, msgID, k, rest, "shutdown")
			return
		}
		w.handSem <- struct{}{}
		if w.stopping.Load() {
			<-w.handSem
			w.nak(raw, msgID, k, 0, "shutdown")
			return
		}
		trace, herr = w.runHandler(m)
	}
	<-w.handSem
	if herr == nil && w.pb != nil {
		w.pb.AIMD.Succeeded()
	}

	// errors.As only on an error: its target escapes, one allocation per delivery otherwise.
	if herr != nil {
		var decodeErr *DecodeError
		if errors.As(herr, &decodeErr) {
			w.deadLetter(raw, md, h, ReasonDecodeError, decodeErr.Error())
			return
		}
	}
	if !errors.Is(herr, ErrRejected) && w.breaker.record(herr != nil, probe) {
		w.circuitChanged()
	}
	result, text := HandlerSuccess, ""
	switch {
	case errors.Is(herr, ErrRejected):
		result, text = HandlerReject, herr.Error()
	case herr != nil:
		result, text = HandlerFail, herr.Error()
	}
	dec = AfterHandler(result, text, k, w.cfg.settings, rand.Float64())
	switch dec.Kind {
	case OutcomeAck:
		if key == "" {
			key = IDKey(msgID)
		}
		w.cache.Add(key)
		if w.store != nil {
			if err := w.store.record(context.Background(), key, m); err != nil {
				w.cfg.log.Warn("acking without a record in the shared idempotency store: a lost ack could run the handler again",
					"worker", w.cfg.id, "msg_id", msgID, "err", err)
			}
		}
		// Counted and reported once the server confirmed the ack (confirm).
		var done *Processed
		if w.cfg.observing {
			done = &Processed{WorkerID: w.cfg.id, MsgID: msgID, Attempt: k, TraceID: trace.TraceID,
				Type: hc.Type, Version: hc.Version, Value: m.value}
		}
		if err := w.ack(raw, true, done); err != nil {
			w.cfg.log.Warn("ack failed", "worker", w.cfg.id, "msg_id", msgID, "err", err)
			return
		}
	case OutcomeDLQ:
		w.deadLetter(raw, md, h, dec.Reason, dec.Error)
	case OutcomeNak:
		w.cfg.metrics.Add(MetricRetried, 1)
		w.nak(raw, msgID, k, NakDelay(dec.DelayMs), "retry")
	}
}

// runHandler runs the middleware and handler with the handler timeout and the message's trace,
// sending +WPI every ack wait / 3 while it runs (§7.5). Handlers should return when ctx ends; one
// that returns after the timeout fails the attempt (a retry). A panic fails the attempt too.
func (w *Worker) runHandler(m *Msg) (trace TraceContext, err error) {
	w.pb.Enter() // §15.1: while lowered, no more handlers run than the lowered capacity
	defer w.pb.Exit()
	trace.TraceID, trace.SpanID, trace.Continued = ContinueTrace(First(m.Header, HdrTraceparent))
	hc := startHandlerCtx(w.cfg.handlerTimeout, max(w.ackWait/3, time.Millisecond), trace, m.raw)
	var ctx context.Context = hc
	if w.cfg.propagator != nil {
		ctx = ContextWithTrace(w.cfg.propagator.Extract(ctx, m.Header), trace)
	}
	var start time.Time
	if w.cfg.metering {
		start = time.Now()
	}
	defer func() {
		hc.end(context.Canceled)
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
		if w.cfg.metering {
			w.cfg.metrics.Observe(MetricHandler, time.Since(start))
		}
	}()
	err = w.next(ctx, m)
	if hc.Err() == context.DeadlineExceeded {
		return trace, errors.New("handler timed out after " + w.cfg.handlerTimeout.String())
	}
	return trace, err
}

// ack sends a plain finishing ack and records it as finished but not yet confirmed: before
// minting, the minter confirms every such ack with one double ack on the last of them (§5.4, the
// second way: the server processes a connection's acks in order and replies to a double ack even
// for a message already acked). One round trip per token instead of one per message. done, if
// not nil, is observed once the ack is confirmed; processed ones (a handler ran, not a duplicate)
// are counted then. No ack is sent while the reconciler reads B (ackGate, §5.5 [v1.3]).
func (w *Worker) ack(msg jetstream.Msg, processed bool, done *Processed) error {
	w.ackGate.Lock()
	defer w.ackGate.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	// Under w.mu: the ack reaches the connection before any double ack that confirms it.
	if err := msg.Ack(); err != nil {
		return err
	}
	w.unconfirmed++
	w.lastAcked = msg
	if processed {
		w.processing++
	}
	if done != nil {
		w.confirming = append(w.confirming, done)
	}
	w.completed++
	w.rateCount++
	w.signalMint()
	return nil
}

// doubleTerm sends +TERM as a request and waits for the server's confirmation.
func (w *Worker) doubleTerm(msg jetstream.Msg) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := w.nc.RequestWithContext(ctx, msg.Reply(), []byte("+TERM"))
	return err
}

func (w *Worker) nak(msg jetstream.Msg, msgID string, k int, delay time.Duration, reason string) {
	var err error
	if delay > 0 {
		err = msg.NakWithDelay(delay)
	} else {
		err = msg.Nak()
	}
	if err != nil {
		w.cfg.log.Warn("nak failed", "worker", w.cfg.id, "msg_id", msgID, "err", err)
		return
	}
	w.cfg.observer(&Nacked{WorkerID: w.cfg.id, MsgID: msgID, Attempt: k, Delay: delay, Reason: reason})
}

// dlqRetryDelay is how long a message whose dead-letter record could not be written waits.
const dlqRetryDelay = 2 * time.Second

// deadLetter publishes the §8.1 record, awaits its PubAck, then terms the message with a
// confirmed +TERM (§8.2) and owes one credit.
func (w *Worker) deadLetter(msg jetstream.Msg, md *jetstream.MsgMetadata, h map[string][]string, reason, text string) {
	k := int(md.NumDelivered)
	msgID := First(h, HdrMsgID)
	hdrs := RecordHeaders(h, DeadLetter{Stream: w.stream, StreamSeq: md.Sequence.Stream, Subject: msg.Subject(),
		Attempts: k, WorkerID: w.cfg.id, AtUnixMs: time.Now().UnixMilli(), Reason: reason, Error: text})
	// A record over the server's limits would be refused on every attempt: cut it instead (§8.4).
	fitted, err := ReduceRecord(hdrs, msg.Data(), w.nc.MaxPayload())
	if err != nil {
		w.cfg.log.Error("dead-letter record does not fit", "worker", w.cfg.id, "msg_id", msgID, "err", err)
		return
	}
	rec := &nats.Msg{Subject: DLQSubject(w.queue), Header: nats.Header(fitted.Headers), Data: fitted.Payload}
	// A few seconds, not the ack wait: a record that cannot be written is reported and the
	// message NAKed soon (§8.4).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := publishRetry(ctx, w.js, rec); err != nil {
		// Not stored, so not termed: the message comes back after a delay and the worker reports
		// itself failing until a record is written again (§8.4).
		w.cfg.log.Error("dead-letter record not written", "worker", w.cfg.id, "msg_id", msgID, "err", err)
		w.dlqHealth(fmt.Sprintf("dead-letter records cannot be written to SLUICE_DLQ (%v): check that the stream exists and that this worker may publish to %s", err, DLQSubject(w.queue)))
		if nakErr := msg.NakWithDelay(dlqRetryDelay); nakErr != nil {
			w.cfg.log.Warn("nak failed", "worker", w.cfg.id, "msg_id", msgID, "err", nakErr)
		}
		return
	}
	w.dlqHealth("")
	if err := w.doubleTerm(msg); err != nil {
		w.cfg.log.Warn("term failed", "worker", w.cfg.id, "msg_id", msgID, "err", err)
		return
	}
	w.owe(1, true)
	w.cfg.metrics.Add(MetricDeadLettered, 1)
	w.cfg.observer(&DeadLettered{WorkerID: w.cfg.id, MsgID: msgID, Reason: reason, Error: text, Attempt: k})
}

// dlqHealth reports a change of the dead-letter problem: failing with why, or ok when why is "".
func (w *Worker) dlqHealth(why string) { w.setProblem(ProblemDLQUnwritable, why) }

// setProblem records why the worker fails for code ("" when it no longer does), which its
// advert's problem field carries (§5.2), and reports a change as a HealthChanged event.
func (w *Worker) setProblem(code, why string) {
	w.mu.Lock()
	changed := w.problems[code] != why
	if why == "" {
		delete(w.problems, code)
	} else {
		w.problems[code] = why
	}
	w.mu.Unlock()
	if changed {
		w.cfg.observer(&HealthChanged{WorkerID: w.cfg.id, Failing: why != "", Reason: why})
	}
}

// problemLines is the advert's problem field: one "<code>: <text>" line per problem, in code
// order; w.mu is held.
func (w *Worker) problemLines() string {
	var lines []string
	for _, code := range []string{ProblemDLQUnwritable, ProblemIdempotencyStore} {
		if why := w.problems[code]; why != "" {
			lines = append(lines, ProblemLine(code, why))
		}
	}
	return strings.Join(lines, "\n")
}

// circuitChanged logs and advertises a circuit that opened or closed (§7.6): an open circuit
// advertises CIRCUIT_OPEN with capacity 0, so producers feel the outage as back-pressure.
func (w *Worker) circuitChanged() {
	if w.breaker.open() {
		w.cfg.log.Warn("circuit opened: the handler fails for most messages; pausing and advertising zero capacity",
			"worker", w.cfg.id, "queue", w.queue)
	} else {
		w.cfg.log.Info("circuit closed: resuming", "worker", w.cfg.id, "queue", w.queue)
	}
	w.cfg.observer(&CircuitChanged{WorkerID: w.cfg.id, Open: w.breaker.open()})
	go func() {
		if err := w.advertise(context.Background(), w.state()); err != nil {
			w.cfg.log.Warn("writing the capacity advert failed", "worker", w.cfg.id, "err", err)
		}
	}()
}

// checkStore asks the shared idempotency store whether the message was processed (§9): a
// processed one is acked as a duplicate, and one whose record cannot be read is NAKed (1 s)
// rather than run. It reports whether the delivery is settled.
func (w *Worker) checkStore(raw jetstream.Msg, msgID string, k int) bool {
	seen, err := w.store.seen(context.Background(), IDKey(msgID))
	if err != nil {
		w.cfg.log.Warn("the shared idempotency store cannot be read: not running the handler", "worker", w.cfg.id, "msg_id", msgID, "err", err)
		w.nak(raw, msgID, k, time.Second, "store-unreadable")
		return true
	}
	if !seen {
		return false
	}
	w.cache.Add(IDKey(msgID))
	if err := w.ack(raw, false, nil); err != nil {
		w.cfg.log.Warn("ack of a duplicate failed", "worker", w.cfg.id, "msg_id", msgID, "err", err)
	}
	w.cfg.metrics.Add(MetricDuplicates, 1)
	return true
}
