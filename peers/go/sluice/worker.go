package sluice

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type workerConfig struct {
	common
	id                string
	concurrency       int
	prefetch          int
	capacity          uint32
	settings          WorkerSettings
	tokenBatch        uint32
	heartbeat         time.Duration
	advertTTL         time.Duration
	handlerTimeout    time.Duration
	shutdownGrace     time.Duration
	idemTTL           time.Duration
	cacheSize         int
	reconciler        bool
	auditInterval     time.Duration
	sharedIdempotency bool
	// latencyTarget > 0: capacity from the service rate (§5.2), at most maxCapacity.
	latencyTarget time.Duration
	maxCapacity   uint32
	// The circuit breaker (§7.6); breakerFailures 0 disables it.
	breakerFailures, breakerWindow int
	breakerDelay                   time.Duration
	handlers                       []*handlerEntry
	upcasters                      map[string]map[int]Upcaster
	middleware                     []Middleware
	// pushback is the AIMD rule of §15.1; nil: the capacity is never lowered (WithoutPushback).
	pushback *PushbackPolicy
}

// Worker pulls a queue's work messages, runs the registered handlers and settles each delivery
// with one outcome (§7), replenishes credits (§5.4), advertises its capacity (§5.2) and, unless
// WithReconciler(false), takes its turn as the queue's reconciler (§5.5).
type Worker struct {
	cfg     workerConfig
	queue   string
	handled []HandledType
	next    Next
	nc      *nats.Conn
	js      jetstream.JetStream
	cons    jetstream.Consumer
	capKV   jetstream.KeyValue
	ctlKV   jetstream.KeyValue // nil when the control bucket is missing: no debts, no reconciler
	debt    Debt
	stream  string
	fleet   *fleetView
	minter  *minter

	ackWait time.Duration
	breaker *breaker     // nil when disabled
	store   *sharedStore // nil without WithSharedIdempotency
	cache   *idCache
	handSem chan struct{}

	stopping atomic.Bool
	stopped  chan struct{} // closed when shutdown begins

	pb        *Pushback     // §15.1; nil with WithoutPushback
	pushbacks atomic.Uint64 // pushbacks since start (advert field 21)

	rl          RateBucket // §15.2: paces minting to this worker's share of the rate
	rateShareAt time.Time  // the minter only (under mintMu)
	rateMaxCap  atomic.Uint32
	inHand      atomic.Int64
	processed   atomic.Int64

	mu          sync.Mutex
	owed        uint32
	unconfirmed uint32        // finished with a plain ack not yet confirmed (§5.4)
	lastAcked   jetstream.Msg // the last of them
	processing  int64         // how many of them a handler processed (the rest: duplicates)
	confirming  []*Processed  // their Processed events (with an observer), observed once confirmed
	completed   uint64
	mintedTotal uint64
	rate        float64
	problems    map[string]string // problem code → text while the worker fails for that reason (§5.2)
	rateCount   uint64
	rateAt      time.Time
	mintSignal  chan struct{}
	// mintMu is held while minting, so the reconciler can read owed and T with no mint between.
	mintMu sync.Mutex
	// ackGate is held while a plain finishing ack is sent, and by the reconciler while it reads B
	// (§5.5 [v1.3]): no ack is sent in between. Taken before mu.
	ackGate sync.Mutex
}

// NewWorker validates the options, checks the queue's topology (it creates nothing, §2) and
// returns a worker; Run starts it. Register at least one handler with Handle.
func NewWorker(ctx context.Context, nc *nats.Conn, queue string, opts ...WorkerOption) (*Worker, error) {
	cfg := workerConfig{common: defaultCommon(), id: "go-" + randomHex(6), concurrency: 4, prefetch: 4,
		settings: DefaultWorkerSettings, heartbeat: 2 * time.Second, advertTTL: 6 * time.Second,
		handlerTimeout: 60 * time.Second, shutdownGrace: 10 * time.Second, idemTTL: time.Hour, cacheSize: 100000,
		reconciler: true, auditInterval: 2 * time.Second, upcasters: map[string]map[int]Upcaster{},
		breakerFailures: 10, breakerWindow: 20, breakerDelay: 5 * time.Second}
	defaultPushback := DefaultPushbackPolicy
	cfg.pushback = &defaultPushback
	for _, o := range opts {
		if err := o.applyWorker(&cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.validate(nc, queue); err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg, queue: queue, handled: cfg.handled(), next: cfg.chain(), nc: nc, js: js,
		stream: WorkStream(queue), cache: newIDCache(cfg.cacheSize, cfg.idemTTL),
		problems: map[string]string{}, handSem: make(chan struct{}, cfg.concurrency), mintSignal: make(chan struct{}, 1), rateAt: time.Now(),
		fleet: newFleetView(queue, cfg.id), minter: newMinter(js, queue, cfg.id), stopped: make(chan struct{})}
	if cfg.pushback != nil {
		w.pb = NewPushback(*cfg.pushback, w.nominal)
	}
	if cfg.breakerFailures > 0 {
		w.breaker = newBreaker(cfg.breakerFailures, cfg.breakerWindow, cfg.breakerDelay, time.Now)
	}
	st, err := needStream(ctx, js, w.stream)
	if err != nil {
		return nil, err
	}
	if w.cons, err = needConsumer(ctx, st, w.stream, WorkerConsumer); err != nil {
		return nil, err
	}
	w.ackWait = w.cons.CachedInfo().Config.AckWait
	if w.ackWait <= 0 {
		w.ackWait = 30 * time.Second
	}
	if _, err := needStream(ctx, js, CreditStream); err != nil {
		return nil, err
	}
	if _, err := needStream(ctx, js, DLQStream); err != nil {
		return nil, err
	}
	if w.capKV, err = needBucket(ctx, js, CapacityBucket); err != nil {
		return nil, err
	}
	w.ctlKV, _ = js.KeyValue(ctx, ControlBucket)
	if cfg.sharedIdempotency {
		kv, err := needBucket(ctx, js, ProcessedBucket)
		if err != nil {
			return nil, err
		}
		w.store = &sharedStore{w: w, kv: kv}
	}
	// The queue's token batch b bounds every token this worker mints (§5.3); b' also by capacity.
	b := uint32(32)
	if w.ctlKV != nil {
		if s, err := queueSettings(ctx, w.ctlKV, queue); err == nil && s != nil && IsPowerOfTwo(s.GetTokenBatch()) {
			b = s.GetTokenBatch()
		}
	}
	if w.cfg.tokenBatch == 0 || w.cfg.tokenBatch > b {
		w.cfg.tokenBatch = b
	}
	// b' from the static capacity: with a latency target the capacity follows b', not the reverse.
	w.cfg.tokenBatch = EffectiveBatch(w.cfg.tokenBatch, uint32(cfg.concurrency+cfg.prefetch))
	return w, nil
}

func (c *workerConfig) validate(nc *nats.Conn, queue string) error {
	if nc == nil {
		return configErr("NewWorker", "connection is nil: pass a connected *nats.Conn")
	}
	if !ValidQueue(queue) {
		return configErr("NewWorker", "invalid queue name %q: use 1 to 63 characters of A-Z a-z 0-9 _ -, starting with a letter or digit", queue)
	}
	if len(c.handlers) == 0 {
		return configErr("NewWorker", "no handler: register one with sluice.Handle(type, minVersion, maxVersion, codec, fn)")
	}
	if c.latencyTarget > 0 && c.capacity > 0 {
		return configErr("WithLatencyTarget", "a latency target and a fixed capacity (WithCapacity) exclude each other: choose one")
	}
	if c.heartbeat > c.advertTTL/2 {
		return configErr("WithHeartbeat", "heartbeat %s must be at most half the advert ttl %s (§5.2)", c.heartbeat, c.advertTTL)
	}
	// §7.2: max_deliveries − max_attempts must cover the grace period's NAKs.
	if c.settings.GraceDelayMs > 0 {
		need := c.settings.MaxAttempts + int(math.Ceil(float64(c.settings.GraceMs)/float64(c.settings.GraceDelayMs)))
		if c.settings.MaxDeliveries < need {
			c.settings.MaxDeliveries = need
		}
	}
	return nil
}

// ID returns the worker id.
func (w *Worker) ID() string { return w.cfg.id }

// Handled returns the types and versions the worker advertises.
func (w *Worker) Handled() []HandledType { return append([]HandledType(nil), w.handled...) }

// Processed returns how many messages handlers processed successfully.
func (w *Worker) Processed() int64 { return w.processed.Load() }

// Run works until ctx is cancelled, then shuts down cleanly (§7.6): it stops pulling, NAKs
// deliveries not started, lets running handlers finish for up to the shutdown grace, mints the
// credits it owes and deletes its advert. It returns nil after a clean shutdown.
func (w *Worker) Run(ctx context.Context) error {
	bg := context.Background()
	w.refreshRate(bg) // §15.2
	if err := w.advertise(bg, stateRunning); err != nil {
		return fmt.Errorf("sluice: writing the capacity advert: %w", err)
	}
	w.cfg.observer(&Started{WorkerID: w.cfg.id})
	w.cfg.log.Info("worker running", "worker", w.cfg.id, "queue", w.queue, "handles", w.handled)

	hbCtx, hbStop := context.WithCancel(bg)
	var hbDone sync.WaitGroup
	hbDone.Add(3)
	go func() { defer hbDone.Done(); w.heartbeatLoop(hbCtx) }()
	go func() { defer hbDone.Done(); w.pushbackTicks(hbCtx) }() // §15.1
	go func() { defer hbDone.Done(); w.fleet.watch(hbCtx, w.capKV, w.queue, w.cfg.log) }()
	if w.cfg.reconciler && w.ctlKV != nil {
		hbDone.Add(1)
		go func() { defer hbDone.Done(); newReconciler(w).run(hbCtx) }()
	}

	mintCtx, mintStop := context.WithCancel(bg)
	mintDone := make(chan struct{})
	go func() { defer close(mintDone); w.minterLoop(mintCtx) }()

	var handlers sync.WaitGroup
	w.pull(ctx, &handlers)

	w.stopping.Store(true)
	close(w.stopped)
	done := make(chan struct{})
	go func() { handlers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.cfg.shutdownGrace):
		w.cfg.log.Warn("handlers still running at the shutdown deadline", "worker", w.cfg.id)
	}
	mintStop()
	<-mintDone
	fctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	if err := w.mintOwed(fctx, true); err != nil {
		w.cfg.log.Warn("minting owed credits at shutdown", "worker", w.cfg.id, "err", err)
	}
	hbStop()
	hbDone.Wait()
	if err := w.advertise(fctx, stateDraining); err != nil {
		w.cfg.log.Warn("writing the DRAINING advert", "worker", w.cfg.id, "err", err)
	}
	if err := w.capKV.Delete(fctx, CapacityKey(w.queue, w.cfg.id)); err != nil {
		w.cfg.log.Warn("deleting the advert", "worker", w.cfg.id, "err", err)
	}
	return nil
}

// pullExpiry is the lifetime of a pull request, as in the Java worker: the server hands each
// message to the oldest waiting request, so a worker that re-issued short requests more often
// would keep landing at the back. pullHeartbeat lets the client notice a request the server no
// longer holds (a restart) well before the expiry.
const (
	pullExpiry    = 5 * time.Second
	pullHeartbeat = 2 * time.Second
)

// pull keeps at most concurrency + prefetch messages in hand (§7.1) until ctx ends. It asks for
// every free slot not yet covered by an outstanding request: one request when none is
// outstanding, another once at least max(1, prefetch/2) slots are uncovered.
func (w *Worker) pull(ctx context.Context, handlers *sync.WaitGroup) {
	limit := w.cfg.concurrency + w.cfg.prefetch
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
			threshold = max(1, w.cfg.prefetch/2)
		}
		want, avail := 0, free
		var poll <-chan time.Time
		if lim, lowered := w.pb.Limit(); lowered { // §15.1: in hand at most the lowered capacity
			avail = min(free, max(0, lim-(limit-free)))
			poll = time.After(pushbackPoll) // the limit grows without a wake-up
		}
		if avail > 0 && avail >= threshold {
			want = avail
		}
		mu.Unlock()
		if want == 0 {
			select {
			case <-wake:
			case <-poll:
			case <-ctx.Done():
			}
			continue
		}
		// §7.6: an open circuit pulls nothing, a half-open one a single probe.
		n, wait, probe := w.breaker.allow(want)
		if n == 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
			continue
		}
		mu.Lock()
		free -= n
		requests++
		mu.Unlock()
		fetches.Add(1)
		go func(n int) {
			defer fetches.Done()
			got, err := w.fetch(ctx, n, probe, handlers, func() { release(1, false) })
			if probe != 0 && got == 0 {
				// §7.6: an empty probe pull closes the circuit; a failed one ends the probe only.
				if err == nil && ctx.Err() == nil && w.breaker.probeEmpty(probe) {
					w.cfg.log.Info("the circuit's probe found the queue empty", "worker", w.cfg.id, "queue", w.queue)
					w.circuitChanged()
				}
				w.breaker.probeEnded(probe)
			}
			release(n-got, true)
			if err != nil && ctx.Err() == nil {
				w.cfg.log.Warn("pull request failed", "worker", w.cfg.id, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(500 * time.Millisecond):
				}
			}
		}(n)
	}
}

// fetch issues one pull request for n messages and hands each to a handler goroutine, which
// calls done when the message leaves the worker's hands. probe is the circuit's probe number
// (§7.6) when the request is a probe, else 0. It returns how many arrived.
func (w *Worker) fetch(ctx context.Context, n int, probe uint64, handlers *sync.WaitGroup, done func()) (int, error) {
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
			w.handle(m, probe)
			// A probe settled without a counted run ends with no verdict; a recorded one is over.
			w.breaker.probeEnded(probe)
		}(msg)
	}
	err = batch.Error()
	if err == nil || errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled) {
		return got, nil
	}
	return got, err
}
