package peer

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math"
	"math/rand"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicepb"
)

// WorkerConfig holds a worker's settings (peers/README.md, PROTOCOL.md §5.2, §5.4, §7).
type WorkerConfig struct {
	Server, Queue, WorkerID string
	Concurrency, Prefetch   int
	WorkMs                  int
	Handles                 []sluice.HandledType
	Settings                sluice.WorkerSettings
	TokenBatch              uint32
	// Capacity overrides the static capacity concurrency + prefetch when > 0.
	Capacity         uint32
	Heartbeat        time.Duration
	AdvertTTL        time.Duration
	HandlerTimeout   time.Duration
	ShutdownDeadline time.Duration
	IdempotencyTTL   time.Duration
	CacheSize        int
	// OverloadedFor: the handler answers overloaded until this long after start (§15.1).
	OverloadedFor time.Duration
}

// DefaultWorkerConfig returns the contract's defaults.
func DefaultWorkerConfig() WorkerConfig {
	s := sluice.DefaultWorkerSettings
	s.MaxAttempts = 3
	s.GraceMs = 3000
	s.GraceDelayMs = 500
	s.Backoff.InitialMs = 100
	return WorkerConfig{
		Concurrency: 4, Prefetch: 4,
		Handles:    []sluice.HandledType{{Type: "sluice.conformance.Work", MinVersion: 1, MaxVersion: 1}},
		Settings:   s,
		TokenBatch: 8, Heartbeat: 2 * time.Second, AdvertTTL: 6 * time.Second,
		HandlerTimeout: 60 * time.Second, ShutdownDeadline: 10 * time.Second,
		IdempotencyTTL: time.Hour, CacheSize: 100000,
	}
}

// Normalize fixes settings the protocol constrains: max_deliveries − max_attempts must be at
// least ceil(grace / grace_delay) (§7.2), and the token batch a power of two (§5.3).
func (c *WorkerConfig) Normalize() {
	if c.Settings.GraceDelayMs > 0 {
		need := c.Settings.MaxAttempts + int(math.Ceil(float64(c.Settings.GraceMs)/float64(c.Settings.GraceDelayMs)))
		if c.Settings.MaxDeliveries < need {
			c.Settings.MaxDeliveries = need
		}
	}
	if !sluice.IsPowerOfTwo(c.TokenBatch) {
		b := uint32(1)
		for b*2 <= c.TokenBatch && b < sluice.MaxToken {
			b *= 2
		}
		c.TokenBatch = b
	}
	// b' = min(b, the largest power of two ≤ max(1, capacity / 2)) (§5.4): a worker whose
	// capacity is below the batch would otherwise never owe a whole batch.
	capacity := c.Capacity
	if capacity == 0 {
		capacity = uint32(c.Concurrency + c.Prefetch)
	}
	c.TokenBatch = sluice.EffectiveBatch(c.TokenBatch, capacity)
}

// Worker pulls work messages and settles each with one outcome.
type Worker struct {
	cfg    WorkerConfig
	ev     *Events
	nc     *nats.Conn
	js     jetstream.JetStream
	cons   jetstream.Consumer
	capKV  jetstream.KeyValue
	ctlKV  jetstream.KeyValue // nil when the control bucket is missing: no debts then
	debt   sluice.Debt
	stream string
	fleet  *fleetView

	ackWait time.Duration
	cache   *idCache
	handSem chan struct{}

	pb        *sluice.Pushback // §15.1
	startedAt time.Time
	stopping  atomic.Bool
	inHand    atomic.Int64
	processed atomic.Int64

	mu          sync.Mutex
	owed        uint32
	completed   uint64
	mintedTotal uint64
	rate        float64
	dlqProblem  string // why dead-letter records cannot be written; "" when they can
	rateCount   uint64
	rateAt      time.Time
	mintSignal  chan struct{}
	mintSeq     atomic.Uint64
	mintPrefix  string
}

// NewWorker connects and checks the topology; it creates nothing (§2).
func NewWorker(ctx context.Context, cfg WorkerConfig, ev *Events) (*Worker, error) {
	cfg.Normalize()
	if !sluice.ValidQueue(cfg.Queue) {
		return nil, fmt.Errorf("invalid queue name %q", cfg.Queue)
	}
	if !sluice.ValidID(cfg.WorkerID) {
		return nil, fmt.Errorf("invalid worker id %q", cfg.WorkerID)
	}
	nc, js, err := connect(cfg.Server, "sluice-peer-go worker "+cfg.WorkerID)
	if err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg, ev: ev, nc: nc, js: js, stream: sluice.WorkStream(cfg.Queue),
		cache: newIDCache(cfg.CacheSize, cfg.IdempotencyTTL), handSem: make(chan struct{}, cfg.Concurrency),
		mintSignal: make(chan struct{}, 1), rateAt: time.Now(), fleet: newFleetView(cfg.Queue, cfg.WorkerID),
		mintPrefix: cfg.WorkerID + "." + fmt.Sprintf("%08x", rand.Uint32())}
	w.pb, w.startedAt = sluice.NewPushback(sluice.DefaultPushbackPolicy, func() int { return int(w.capacity()) }), time.Now() // §15.1
	fail := func(err error) (*Worker, error) { nc.Close(); return nil, err }
	st, err := needStream(ctx, js, w.stream)
	if err != nil {
		return fail(err)
	}
	if w.cons, err = needConsumer(ctx, st, w.stream, sluice.WorkerConsumer); err != nil {
		return fail(err)
	}
	w.ackWait = w.cons.CachedInfo().Config.AckWait
	if w.ackWait <= 0 {
		w.ackWait = 30 * time.Second
	}
	if _, err := needStream(ctx, js, sluice.CreditStream); err != nil {
		return fail(err)
	}
	if _, err := needStream(ctx, js, sluice.DLQStream); err != nil {
		return fail(err)
	}
	if w.capKV, err = needBucket(ctx, js, sluice.CapacityBucket); err != nil {
		return fail(err)
	}
	w.ctlKV, _ = js.KeyValue(ctx, sluice.ControlBucket)
	return w, nil
}

// Run works until ctx is cancelled, then shuts down cleanly (§7.6).
func (w *Worker) Run(ctx context.Context) error {
	defer w.nc.Close()
	bg := context.Background()
	if err := w.advertise(bg, sluicepb.WorkerState_WORKER_STATE_RUNNING); err != nil {
		return fmt.Errorf("capacity advert: %w", err)
	}
	w.ev.Emit(ReadyEvent{Event: "ready", Role: "worker", ID: w.cfg.WorkerID, Lang: Lang})

	hbCtx, hbStop := context.WithCancel(bg)
	var hbDone sync.WaitGroup
	hbDone.Add(3)
	go func() { defer hbDone.Done(); w.heartbeat(hbCtx) }()
	go func() { defer hbDone.Done(); w.pushbackTicks(hbCtx) }() // §15.1
	go func() { defer hbDone.Done(); w.fleet.watch(hbCtx, w.capKV, w.cfg.Queue) }()

	mintCtx, mintStop := context.WithCancel(bg)
	mintDone := make(chan struct{})
	go func() { defer close(mintDone); w.minter(mintCtx) }()

	var handlers sync.WaitGroup
	w.pull(ctx, &handlers)

	// Shutdown: no new pulls; deliveries not yet started are NAKed with delay 0; running
	// handlers finish until the deadline.
	w.stopping.Store(true)
	done := make(chan struct{})
	go func() { handlers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.cfg.ShutdownDeadline):
		log.Printf("worker %s: handlers still running at the shutdown deadline", w.cfg.WorkerID)
	}
	mintStop()
	<-mintDone
	fctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	if err := w.mintOwed(fctx, true); err != nil {
		log.Printf("worker %s: minting owed credits at shutdown: %v", w.cfg.WorkerID, err)
	}
	hbStop()
	hbDone.Wait()
	if err := w.advertise(fctx, sluicepb.WorkerState_WORKER_STATE_DRAINING); err != nil {
		log.Printf("worker %s: DRAINING advert: %v", w.cfg.WorkerID, err)
	}
	if err := w.capKV.Delete(fctx, sluice.CapacityKey(w.cfg.Queue, w.cfg.WorkerID)); err != nil {
		log.Printf("worker %s: deleting advert: %v", w.cfg.WorkerID, err)
	}
	n := w.processed.Load()
	w.ev.Emit(DoneEvent{Event: "done", ID: w.cfg.WorkerID, Processed: &n})
	return nil
}

// pullExpiry is the lifetime of a pull request on workers, as in the Java worker: the server
// hands each message to the oldest waiting request, so a peer that re-issued short requests
// more often would keep landing at the back of the queue. pullHeartbeat lets the client notice
// a request the server no longer holds (a restart) well before the expiry.
const (
	pullExpiry    = 5 * time.Second
	pullHeartbeat = 2 * time.Second
)

// pull keeps at most concurrency + prefetch messages in hand (§7.1) until ctx ends. Like the
// Java worker, it asks for every free slot not yet covered by an outstanding request: one
// request when none is outstanding, another once at least max(1, prefetch/2) slots are
// uncovered; each request lives pullExpiry and is replaced as soon as it ends.
func (w *Worker) pull(ctx context.Context, handlers *sync.WaitGroup) {
	limit := w.cfg.Concurrency + w.cfg.Prefetch
	var mu sync.Mutex
	free, requests := limit, 0
	wake := make(chan struct{}, 1)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	release := func(n int, request bool) {
		mu.Lock()
		free += n
		if request {
			requests--
		}
		mu.Unlock()
		signal()
	}
	var fetches sync.WaitGroup
	defer fetches.Wait()
	for ctx.Err() == nil {
		mu.Lock()
		threshold := 1
		if requests > 0 {
			threshold = max(1, w.cfg.Prefetch/2)
		}
		n, avail := 0, free
		var poll <-chan time.Time
		if lim, ok := w.pb.Limit(); ok { // §15.1: in hand at most the lowered capacity
			avail, poll = min(free, max(0, lim-(limit-free))), time.After(50*time.Millisecond)
		}
		if avail > 0 && avail >= threshold {
			n, free = avail, free-avail
			requests++
		}
		mu.Unlock()
		if n == 0 {
			select {
			case <-wake:
			case <-poll:
			case <-ctx.Done():
			}
			continue
		}
		fetches.Add(1)
		go func(n int) {
			defer fetches.Done()
			got, err := w.fetch(ctx, n, handlers, func() { release(1, false) })
			release(n-got, true)
			if err != nil && ctx.Err() == nil {
				log.Printf("worker %s: fetch: %v", w.cfg.WorkerID, err)
				select {
				case <-ctx.Done():
				case <-time.After(500 * time.Millisecond):
				}
			}
		}(n)
	}
}

// fetch issues one pull request for n messages and hands each to a handler goroutine, which
// calls done when the message leaves the worker's hands. It returns how many arrived. A
// cancelled ctx (shutdown) ends the request's subscription at once.
func (w *Worker) fetch(ctx context.Context, n int, handlers *sync.WaitGroup, done func()) (int, error) {
	fctx, cancel := context.WithTimeout(ctx, pullExpiry+pullExpiry/10)
	defer cancel()
	// FetchContext sets the request's expiry to 90 % of the context's time left: pullExpiry.
	batch, err := w.cons.Fetch(n, jetstream.FetchContext(fctx), jetstream.FetchHeartbeat(pullHeartbeat))
	if err != nil {
		return 0, err
	}
	got := 0
	for msg := range batch.Messages() {
		got++
		w.inHand.Add(1)
		handlers.Add(1)
		go func(m jetstream.Msg) {
			defer func() { w.inHand.Add(-1); handlers.Done(); done() }()
			w.handle(m)
		}(msg)
	}
	err = batch.Error()
	if err == nil || errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled) {
		return got, nil
	}
	return got, err
}

type workBody struct {
	Seq      *int64 `json:"seq"`
	Behavior string `json:"behavior"`
}

// handle settles one delivery in the order of §7.2.
func (w *Worker) handle(msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		log.Printf("worker %s: delivery without metadata: %v", w.cfg.WorkerID, err)
		return
	}
	h := map[string][]string(msg.Headers())
	k := int(md.NumDelivered)
	msgID := sluice.First(h, sluice.HdrMsgID)
	if w.stopping.Load() {
		w.nak(msg, msgID, k, 0, "shutdown")
		return
	}
	d := sluice.Delivery{Headers: h, PayloadSize: len(msg.Data()), K: k, AgeMs: time.Since(md.Timestamp).Milliseconds(),
		FleetHandles: w.fleet.handles, FleetDeclines: w.fleet.declines}
	dec, hc := sluice.BeforeHandler(d, w.cfg.Settings, w.cfg.Handles, func(id string) bool { return w.cache.Seen(sluice.IDKey(id)) })
	switch dec.Kind {
	case sluice.OutcomeDLQ:
		w.deadLetter(msg, md, h, dec.Reason, dec.Error)
		return
	case sluice.OutcomeAck:
		// A duplicate: finishing ack without running the handler.
		if err := w.doubleAck(msg); err != nil {
			log.Printf("worker %s: ack of duplicate %s: %v", w.cfg.WorkerID, msgID, err)
			return
		}
		w.owe(1, true) // a duplicate is a finished delivery: it counts toward the rate (§5.2)
		return
	case sluice.OutcomeNak:
		w.nak(msg, msgID, k, sluice.NakDelay(dec.DelayMs), "not-handled")
		return
	}
	var body workBody
	if err := json.Unmarshal(msg.Data(), &body); err != nil || body.Seq == nil ||
		(body.Behavior != "ok" && body.Behavior != "poison" && body.Behavior != "fail-once") {
		text := "payload is not a conformance Work object"
		if err != nil {
			text = "payload does not decode: " + err.Error()
		}
		w.deadLetter(msg, md, h, sluice.ReasonDecodeError, text)
		return
	}

	// Wait for a handler slot; a delivery still waiting at shutdown goes back.
	w.handSem <- struct{}{}
	if w.stopping.Load() {
		<-w.handSem
		w.nak(msg, msgID, k, 0, "shutdown")
		return
	}
	traceID, _, _ := sluice.ContinueTrace(sluice.First(h, sluice.HdrTraceparent))
	result, errText := w.runHandler(msg, body, k)
	// §15.1: a pushback holds the delivery (no NAK, no attempt) and runs the handler again.
	for n := 1; result == sluice.HandlerOverloaded; n++ {
		<-w.handSem
		if !w.holdForRetry(msg, n) {
			w.nak(msg, msgID, k, 0, "shutdown")
			return
		}
		w.handSem <- struct{}{}
		result, errText = w.runHandler(msg, body, k)
	}
	<-w.handSem

	dec = sluice.AfterHandler(result, errText, k, w.cfg.Settings, rand.Float64())
	switch dec.Kind {
	case sluice.OutcomeAck:
		w.cache.Add(sluice.IDKey(msgID))
		if err := w.doubleAck(msg); err != nil {
			log.Printf("worker %s: ack of %s: %v", w.cfg.WorkerID, msgID, err)
			return
		}
		w.owe(1, true)
		w.processed.Add(1)
		w.ev.Emit(ProcessedEvent{Event: "processed", ID: w.cfg.WorkerID, MsgID: msgID, Seq: *body.Seq, Attempt: k,
			TraceID: traceID, Type: hc.Type, Version: hc.Version, Lang: Lang})
	case sluice.OutcomeDLQ:
		w.deadLetter(msg, md, h, dec.Reason, dec.Error)
	case sluice.OutcomeNak:
		w.nak(msg, msgID, k, sluice.NakDelay(dec.DelayMs), "retry")
	}
}

// runHandler runs the conformance handler with a timeout, sending +WPI every ack wait / 3.
func (w *Worker) runHandler(msg jetstream.Msg, body workBody, k int) (string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.HandlerTimeout)
	defer cancel()
	tick := time.NewTicker(w.ackWait / 3)
	defer tick.Stop()
	type res struct{ result, text string }
	out := make(chan res, 1)
	w.pb.Enter() // §15.1: while lowered, no more handlers run than the lowered capacity
	defer w.pb.Exit()
	go func() {
		if w.cfg.WorkMs > 0 {
			select {
			case <-time.After(time.Duration(w.cfg.WorkMs) * time.Millisecond):
			case <-ctx.Done():
			}
		}
		switch {
		case time.Since(w.startedAt) < w.cfg.OverloadedFor: // §15.1
			out <- res{sluice.HandlerOverloaded, "downstream overloaded"}
		case body.Behavior == "poison":
			out <- res{sluice.HandlerReject, "poison message rejected by the handler"}
		case body.Behavior == "fail-once" && k <= 1:
			out <- res{sluice.HandlerFail, "fail-once: failing on delivery 1"}
		default:
			out <- res{sluice.HandlerSuccess, ""}
		}
	}()
	for {
		select {
		case r := <-out:
			return r.result, r.text
		case <-tick.C:
			_ = msg.InProgress()
		case <-ctx.Done():
			return sluice.HandlerFail, "handler timed out after " + w.cfg.HandlerTimeout.String()
		}
	}
}

// doubleAck acks msg and waits for the server's confirmation (§5.4).
func (w *Worker) doubleAck(msg jetstream.Msg) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return msg.DoubleAck(ctx)
}

// doubleTerm sends +TERM and waits for the server's confirmation.
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
		log.Printf("worker %s: nak of %s: %v", w.cfg.WorkerID, msgID, err)
		return
	}
	if reason == "shutdown" {
		return
	}
	w.ev.Emit(NakEvent{Event: "nak", ID: w.cfg.WorkerID, MsgID: msgID, Attempt: k, DelayMs: delay.Milliseconds(), Reason: reason})
}

// deadLetter publishes the §8.1 record, awaits its PubAck, then terms the message with a
// confirmed +TERM (§8.2) and owes one credit.
func (w *Worker) deadLetter(msg jetstream.Msg, md *jetstream.MsgMetadata, h map[string][]string, reason, text string) {
	k := int(md.NumDelivered)
	msgID := sluice.First(h, sluice.HdrMsgID)
	hdrs := sluice.RecordHeaders(h, sluice.DeadLetter{Stream: w.stream, StreamSeq: md.Sequence.Stream, Subject: msg.Subject(),
		Attempts: k, WorkerID: w.cfg.WorkerID, AtUnixMs: time.Now().UnixMilli(), Reason: reason, Error: text})
	// A record over the server's limits would be refused on every attempt: cut it instead (§8.4).
	fitted, err := sluice.ReduceRecord(hdrs, msg.Data(), w.nc.MaxPayload())
	if err != nil {
		log.Printf("worker %s: dead-letter record for %s: %v", w.cfg.WorkerID, msgID, err)
		return
	}
	rec := &nats.Msg{Subject: sluice.DLQSubject(w.cfg.Queue), Header: nats.Header(fitted.Headers), Data: fitted.Payload}
	// A few seconds, not the ack wait: a record that cannot be written is reported and the
	// message NAKed soon (§8.4).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := publishRetry(ctx, w.js, rec); err != nil {
		// The record is not stored, so the message is not termed: it comes back after a delay
		// and the worker reports itself failing until a record is written again (§8.4).
		log.Printf("worker %s: dead-letter record for %s: %v", w.cfg.WorkerID, msgID, err)
		w.dlqHealth(fmt.Sprintf("dead-letter records cannot be written to SLUICE_DLQ (%v): check that the stream exists and that this worker may publish to %s", err, sluice.DLQSubject(w.cfg.Queue)))
		if nakErr := msg.NakWithDelay(dlqRetryDelay); nakErr != nil {
			log.Printf("worker %s: nak of %s: %v", w.cfg.WorkerID, msgID, nakErr)
		}
		return
	}
	w.dlqHealth("")
	if err := w.doubleTerm(msg); err != nil {
		log.Printf("worker %s: term of %s: %v", w.cfg.WorkerID, msgID, err)
		return
	}
	w.owe(1, true)
	w.ev.Emit(DeadLetteredEvent{Event: "dead_lettered", ID: w.cfg.WorkerID, MsgID: msgID, Reason: reason, Attempt: k, Lang: Lang})
}

// dlqRetryDelay is how long a message whose dead-letter record could not be written waits.
const dlqRetryDelay = 2 * time.Second

// dlqHealth reports a change of the dead-letter problem: failing with why, or ok when why is "".
func (w *Worker) dlqHealth(why string) {
	w.mu.Lock()
	changed := w.dlqProblem != why
	w.dlqProblem = why
	w.mu.Unlock()
	if !changed {
		return
	}
	if why == "" {
		w.ev.Emit(HealthEvent{Event: "health", ID: w.cfg.WorkerID, Status: "ok"})
		return
	}
	w.ev.Emit(HealthEvent{Event: "health", ID: w.cfg.WorkerID, Status: "failing", Reason: why})
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
	select {
	case w.mintSignal <- struct{}{}:
	default:
	}
}

// linger is floor(clamp(b' / service_rate × 1000, 2, 20)) ms, 20 ms with no rate yet (§5.4).
func (w *Worker) linger() time.Duration {
	w.mu.Lock()
	rate := w.rate
	w.mu.Unlock()
	return time.Duration(sluice.LingerMs(w.cfg.TokenBatch, rate)) * time.Millisecond
}

// minter mints b-tokens whenever owed ≥ b and the remainder once the linger expires (§5.4).
func (w *Worker) minter(ctx context.Context) {
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
			log.Printf("worker %s: mint: %v", w.cfg.WorkerID, err)
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
		rest := w.owed
		w.mu.Unlock()
		if rest > 0 && timerC == nil {
			timer = time.NewTimer(w.linger())
			timerC = timer.C
		}
	}
}

// mintOwed mints the owed credits that fill whole batches, or all of them when all is set.
func (w *Worker) mintOwed(ctx context.Context, all bool) error {
	w.mu.Lock()
	owed := w.owed
	w.mu.Unlock()
	b := w.cfg.TokenBatch
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
	values := sluice.Decompose(total, b)
	for _, n := range values {
		minted, err := mintTokens(ctx, w.js, w.cfg.Queue, w.cfg.WorkerID, sluicepb.MintReason_MINT_REASON_REPLENISH,
			[]uint32{n}, w.mintPrefix, func() uint64 { return w.mintSeq.Add(1) })
		w.mu.Lock()
		w.owed -= minted
		w.mintedTotal += uint64(minted)
		w.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *Worker) capacity() uint32 {
	if w.cfg.Capacity > 0 {
		return w.cfg.Capacity
	}
	return uint32(w.cfg.Concurrency + w.cfg.Prefetch)
}

func (w *Worker) advertise(ctx context.Context, state sluicepb.WorkerState) error {
	w.mu.Lock()
	now := time.Now()
	if dt := now.Sub(w.rateAt).Seconds(); dt >= 0.5 {
		w.rate = sluice.ServiceRate(w.rate, w.rateCount, dt)
		w.rateCount, w.rateAt = 0, now
	}
	a := &sluicepb.CapacityAdvert{
		WorkerId: w.cfg.WorkerID, Queue: w.cfg.Queue, ProtocolVersion: sluice.Protocol,
		InFlight: uint32(w.inHand.Load()), ServiceRate: w.rate, HeartbeatUnixMs: now.UnixMilli(),
		TtlMs: uint32(w.cfg.AdvertTTL.Milliseconds()), State: state, OwedCredits: w.owed, Language: Lang,
		CompletedTotal: w.completed, MintedTotal: w.mintedTotal, TokenBatch: w.cfg.TokenBatch,
		AbsorbsDebt: w.ctlKV != nil,
		// Why it reports itself failing (§5.2): informational, nothing below reads it.
		Problem: sluice.ProblemLine(sluice.ProblemDLQUnwritable, w.dlqProblem),
	}
	a.Debt, a.DebtSeen = w.debt.State()
	w.mu.Unlock()
	if state == sluicepb.WorkerState_WORKER_STATE_RUNNING {
		// §15.1: the capacity lowered by pushback, and the configured one beside it.
		a.NominalCapacity, a.Capacity = w.capacity(), uint32(w.pb.AIMD.Capacity(int(w.capacity())))
	}
	a.PushbacksTotal, a.PushbackDecreasesTotal, a.LoweredSinceUnixMs = w.pb.Pushbacks(), w.pb.AIMD.Decreases(), w.pb.AIMD.LoweredSinceMs()
	for _, t := range w.cfg.Handles {
		a.Handled = append(a.Handled, &sluicepb.HandledType{Type: t.Type, MinVersion: uint32(t.MinVersion), MaxVersion: uint32(t.MaxVersion)})
	}
	b, err := sluice.Encode(a)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = w.capKV.Put(pctx, sluice.CapacityKey(w.cfg.Queue, w.cfg.WorkerID), b)
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
	e, err := w.ctlKV.Get(gctx, sluice.ReconcilerKey(w.cfg.Queue))
	if err == nil {
		if err := sluice.Decode(e.Value(), lease); err != nil {
			return
		}
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return
	}
	w.debt.Offer(lease, w.cfg.WorkerID)
}

func (w *Worker) heartbeat(ctx context.Context) {
	t := time.NewTicker(w.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.readLease(ctx)
			if err := w.advertise(ctx, sluicepb.WorkerState_WORKER_STATE_RUNNING); err != nil && ctx.Err() == nil {
				log.Printf("worker %s: capacity advert: %v", w.cfg.WorkerID, err)
			}
		}
	}
}

// idCache is the local idempotency cache (§9): bounded, entries expire after ttl.
type idCache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	order *list.List
	items map[string]*list.Element
}

type idEntry struct {
	key string
	at  time.Time
}

func newIDCache(max int, ttl time.Duration) *idCache {
	return &idCache{max: max, ttl: ttl, order: list.New(), items: map[string]*list.Element{}}
}

func (c *idCache) Seen(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return false
	}
	if time.Since(e.Value.(*idEntry).at) > c.ttl {
		c.order.Remove(e)
		delete(c.items, key)
		return false
	}
	return true
}

func (c *idCache) Add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.Remove(e)
	}
	c.items[key] = c.order.PushBack(&idEntry{key: key, at: time.Now()})
	for c.order.Len() > c.max {
		old := c.order.Front()
		c.order.Remove(old)
		delete(c.items, old.Value.(*idEntry).key)
	}
}

// holdForRetry is §15.1: after the n-th pushback of a delivery, lowers the capacity and keeps the
// message in hand (+WPI every ack wait / 3) for the retry delay; false when shutdown began.
func (w *Worker) holdForRetry(msg jetstream.Msg, n int) bool {
	w.pb.Pushed(time.Now().UnixMilli())
	delay := sluice.PushbackDelayMs(-1, n, w.cfg.Settings.Backoff, rand.Float64())
	until := time.Now().Add(time.Duration(delay * float64(time.Millisecond)))
	tick := time.NewTicker(w.ackWait / 3)
	defer tick.Stop()
	for time.Now().Before(until) {
		if w.stopping.Load() {
			return false
		}
		select {
		case <-tick.C:
			_ = msg.InProgress()
		case <-time.After(min(time.Until(until), 100*time.Millisecond)):
		}
	}
	return !w.stopping.Load()
}

// pushbackTicks runs the §15.1 periodic step every 100 ms until ctx ends.
func (w *Worker) pushbackTicks(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	last := w.processed.Load()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p := w.processed.Load()
			w.pb.Tick(time.Now().UnixMilli(), p != last, w.inHand.Load() == 0)
			last = p
		}
	}
}
