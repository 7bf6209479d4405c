package sluice

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluicepb"
)

// SendResult is a stored message.
type SendResult struct {
	MsgID     string
	StreamSeq uint64
	// Duplicate is true when the server already had a message with this id: nothing was added
	// and no credit was spent.
	Duplicate bool
	TraceID   string
	// CreditWait is how long the send waited for its credit.
	CreditWait time.Duration
}

// Producer sends work messages to one queue, each spending one credit (§6). It is safe for
// concurrent use; concurrent sends share the held tokens.
type Producer struct {
	cfg     producerConfig
	queue   string
	subject string // WorkSubject(queue) and WorkStream(queue), built once: a send uses both
	stream  string
	nc      *nats.Conn
	acks    *pubAcks // the work publishes' PubAcks
	js      jetstream.JetStream
	creds   jetstream.Consumer
	ctlKV   jetstream.KeyValue
	capKV   jetstream.KeyValue
	lease   time.Duration

	mu           sync.Mutex
	held         []*token
	waiting      int
	waiters      []*waiter
	watches      map[<-chan struct{}]*ctxWatch // the contexts of waiting sends (producer_wait.go)
	pulls        int
	lastActivity time.Time
	changed      chan struct{}
	closing      bool
	closed       atomic.Bool // closing, for Send to read without p.mu
	sentTotal    uint64
	// keyWaiting and keyGranted count sends waiting and credits granted per fairness key for the
	// report (§15.3); empty while no message carries a key.
	keyWaiting map[string]uint32
	keyGranted map[string]uint64
	reported   bool
	reportNow  chan struct{}
	// publishing counts credits reserved and not yet settled (spent or refunded): sends that
	// publish. Added to under mu while not closing, so Close can wait for it.
	publishing sync.WaitGroup

	// fleet follows the queue's capacity adverts (§4.3, §6 step 8); while its watch is down,
	// adverts is a one-shot read of them, trusted for at most 1 s from advertsAt.
	fleet     *fleetView
	vmu       sync.Mutex
	warned    map[string]bool
	advertsAt time.Time
	adverts   []*sluicepb.CapacityAdvert

	maxMsgSize int64 // the work stream's max_msg_size, read once (§2.2)
	stopBg     context.CancelFunc
	bg         sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error
}

// NewProducer checks the queue's topology (it creates nothing, §2) and starts the producer's
// token pulls and report. Close it when done: Close returns its unspent credits.
func NewProducer(ctx context.Context, nc *nats.Conn, queue string, opts ...ProducerOption) (*Producer, error) {
	cfg := producerConfig{common: defaultCommon(), id: "go-" + randomHex(6), acquireTimeout: 30 * time.Second,
		prefetch: 4, pullExpiry: time.Second, reportInterval: 250 * time.Millisecond, reportTTL: 3 * time.Second,
		idleReturn: 500 * time.Millisecond, publishTimeout: 5 * time.Second}
	for _, o := range opts {
		if err := o.applyProducer(&cfg); err != nil {
			return nil, err
		}
	}
	if nc == nil {
		return nil, configErr("NewProducer", "connection is nil: pass a connected *nats.Conn")
	}
	if !ValidQueue(queue) {
		return nil, configErr("NewProducer", "invalid queue name %q: use 1 to 63 characters of A-Z a-z 0-9 _ -, starting with a letter or digit", queue)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	p := &Producer{cfg: cfg, queue: queue, subject: WorkSubject(queue), stream: WorkStream(queue), nc: nc, js: js, changed: make(chan struct{}),
		keyWaiting: map[string]uint32{}, keyGranted: map[string]uint64{},
		watches: map[<-chan struct{}]*ctxWatch{}, reportNow: make(chan struct{}, 1), warned: map[string]bool{},
		fleet: newFleetView(queue, "")}
	ws, err := needStream(ctx, js, WorkStream(queue))
	if err != nil {
		return nil, err
	}
	p.maxMsgSize = int64(ws.CachedInfo().Config.MaxMsgSize)
	cs, err := needStream(ctx, js, CreditStream)
	if err != nil {
		return nil, err
	}
	if p.creds, err = needConsumer(ctx, cs, CreditStream, CreditConsumer(queue)); err != nil {
		return nil, err
	}
	p.lease = p.creds.CachedInfo().Config.AckWait
	if p.lease <= 0 {
		p.lease = 10 * time.Second
	}
	if p.ctlKV, err = needBucket(ctx, js, ControlBucket); err != nil {
		return nil, err
	}
	if p.capKV, err = needBucket(ctx, js, CapacityBucket); err != nil {
		return nil, err
	}
	if p.acks, err = newPubAcks(nc); err != nil {
		return nil, err
	}
	bgCtx, stop := context.WithCancel(context.Background())
	p.stopBg = stop
	for i := 0; i < cfg.prefetch; i++ {
		p.bg.Add(1)
		go func() { defer p.bg.Done(); p.puller(bgCtx) }()
	}
	p.bg.Add(2)
	go func() { defer p.bg.Done(); p.reporter(bgCtx) }()
	go func() { defer p.bg.Done(); p.fleet.watch(bgCtx, p.capKV, queue, cfg.log) }()
	return p, nil
}

// ID returns the producer id.
func (p *Producer) ID() string { return p.cfg.id }

// Close stops pulling tokens, lets the sends that hold a credit finish their publish (until ctx
// ends), returns every held token (§6.7) and deletes the producer's report. Sends waiting for a
// credit, and sends after Close, fail with ErrClosed.
func (p *Producer) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closing = true
		p.closed.Store(true)
		p.wakeWaiters()
		p.broadcast()
		p.mu.Unlock()
		published := make(chan struct{})
		go func() { p.publishing.Wait(); close(published) }()
		select {
		case <-published:
		case <-ctx.Done():
		}
		defer p.acks.close()
		p.stopBg()
		p.bg.Wait()
		if err := p.settle(ctx, true); err != nil {
			p.closeErr = fmt.Errorf("returning held tokens: %w", err)
		}
		if err := p.ctlKV.Delete(ctx, ProducerReportKey(p.queue, p.cfg.id)); err != nil {
			p.cfg.log.Warn("deleting producer report", "producer", p.cfg.id, "err", err)
		}
	})
	return p.closeErr
}

// SendBatch sends msgs concurrently, each with its own credit, and returns the results in
// order. The error joins every failed send's error; results of failed sends are zero.
func (p *Producer) SendBatch(ctx context.Context, msgs []Message) ([]SendResult, error) {
	out := make([]SendResult, len(msgs))
	errs := make([]error, len(msgs))
	var wg sync.WaitGroup
	for i := range msgs {
		wg.Add(1)
		go func(i int) { defer wg.Done(); out[i], errs[i] = p.Send(ctx, msgs[i]) }(i)
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// Pending is a send in progress (SendAsync).
type Pending struct {
	done   chan struct{}
	result SendResult
	err    error
}

// Done is closed when the send finished.
func (f *Pending) Done() <-chan struct{} { return f.done }

// Wait waits for the send and returns its result.
func (f *Pending) Wait(ctx context.Context) (SendResult, error) {
	select {
	case <-f.done:
		return f.result, f.err
	case <-ctx.Done():
		return SendResult{}, ctx.Err()
	}
}

// SendAsync starts Send(ctx, msg) and returns at once.
func (p *Producer) SendAsync(ctx context.Context, msg Message) *Pending {
	f := &Pending{done: make(chan struct{})}
	go func() { defer close(f.done); f.result, f.err = p.Send(ctx, msg) }()
	return f
}

// Send stores one work message (§6.4, §6.5): it waits for a credit (up to the acquire timeout,
// then *CreditTimeoutError), publishes, and returns after the server's PubAck. A publish that
// times out is retried with the same id until the acquire deadline.
func (p *Producer) Send(ctx context.Context, m Message) (SendResult, error) {
	start := time.Now()
	deadline := start.Add(p.cfg.acquireTimeout)
	if err := p.validate(m); err != nil {
		return SendResult{}, err
	}
	if err := p.checkVersion(ctx, m.Type, m.Version); err != nil {
		return SendResult{}, err
	}
	sm, traceID := p.natsMsg(ctx, m, start)
	res, err := p.send(ctx, m, &sm.msg, traceID, start, deadline)
	p.release(sm)
	return res, err
}

// send is Send from the size check on.
func (p *Producer) send(ctx context.Context, m Message, msg *nats.Msg, traceID string, start, deadline time.Time) (SendResult, error) {
	if err := CheckSize(msg.Header, len(msg.Data), p.stream, p.maxMsgSize, p.nc.MaxPayload()); err != nil {
		return SendResult{}, fmt.Errorf("sluice: message %s: %w", m.ID, err)
	}
	t, err := p.reserve(ctx, deadline, m.FairnessKey)
	if err != nil {
		return SendResult{}, err
	}
	waited := time.Since(start)
	p.cfg.metrics.Observe(MetricCreditWait, waited)
	wait := 50 * time.Millisecond
	unanswered := 0 // attempts no stream answered (§6 step 5 [v1.3]): none of them stored anything
	for attempt := 1; ; attempt++ {
		seq, duplicate, err := publishWork(ctx, p.acks, msg, p.cfg.publishTimeout)
		if err == nil {
			dup := duplicate && attempt == 1
			if dup {
				p.finish(t, true)
			} else {
				p.finishSent(t, m.FairnessKey)
				p.cfg.metrics.Add(MetricSent, 1)
			}
			return SendResult{MsgID: m.ID, StreamSeq: seq, Duplicate: dup, TraceID: traceID, CreditWait: waited}, nil
		}
		hardWall := isMaxMsgs(err)
		if !hardWall && isAPIError(err) {
			p.finish(t, true) // a definite rejection: the message is not stored
			return SendResult{}, fmt.Errorf("sluice: publish %s: %w", m.ID, err)
		}
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			if unanswered++; unanswered == 1 {
				p.cfg.log.Warn("no stream answered a publish (no responders); retrying with the same id until the send's deadline",
					"queue", p.queue, "msg_id", m.ID)
			}
		}
		if (time.Now().After(deadline) || ctx.Err() != nil) && unanswered == attempt {
			p.finish(t, true) // no attempt reached a stream: nothing was stored
			return SendResult{}, fmt.Errorf("sluice: publish %s: no stream answered any of %d attempts (no responders): is queue %s provisioned? (a clustered stream also answers nobody while its leader is being elected): %w: %w",
				m.ID, attempt, p.queue, ErrTopology, err)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			// The last attempt may have been stored: the credit stays spent.
			p.finish(t, hardWall)
			if hardWall {
				return SendResult{}, &CreditTimeoutError{Reason: StreamAtHardLimit, Queue: p.queue, Waited: time.Since(start),
					Message: "work stream " + WorkStream(p.queue) + " is at its hard limit (max_msgs): producers ignoring credits filled it; drain it or raise max_msgs"}
			}
			return SendResult{}, fmt.Errorf("sluice: publish %s: %w", m.ID, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		if wait < time.Second {
			wait *= 2
		}
	}
}

func (p *Producer) validate(m Message) error {
	if !msgIDRe.MatchString(m.ID) {
		return configErr("Message.ID", "%q: give each message an id of 1 to 128 printable ASCII characters", m.ID)
	}
	if !typeRe.MatchString(m.Type) {
		return configErr("Message.Type", "%q: use 1 to 256 characters of A-Z a-z 0-9 _ . / -", m.Type)
	}
	if m.Version < 1 {
		return configErr("Message.Version", "must be at least 1, got %d", m.Version)
	}
	if m.FairnessKey != "" && !ValidFairnessKey(m.FairnessKey) { // §15.3
		return configErr("Message.FairnessKey", "%q: use 1 to 64 characters of A-Z a-z 0-9 _ . : @ -", m.FairnessKey)
	}
	if p.closed.Load() {
		return ErrClosed
	}
	return nil
}
