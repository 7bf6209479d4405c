package peer

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicepb"
)

// ProducerConfig holds a producer's settings (peers/README.md, PROTOCOL.md §6).
type ProducerConfig struct {
	Server, Queue, ProducerID string
	Count, Start              int
	Type                      string
	Version                   int
	Behavior                  string
	// FairnessKey is sent as Sluice-Fairness-Key when set (§15.3).
	FairnessKey    string
	AcquireTimeout time.Duration
	// Prefetch is the number of single-message token pulls kept outstanding while sends wait.
	Prefetch       int
	PullExpiry     time.Duration
	ReportInterval time.Duration
	ReportTTL      time.Duration
	IdleReturn     time.Duration
	PublishTimeout time.Duration
	// VersionPolicy is FAIL, WARN or ALLOW (§4.3).
	VersionPolicy string
}

// DefaultProducerConfig returns the contract's and the protocol's defaults.
func DefaultProducerConfig() ProducerConfig {
	return ProducerConfig{Type: "sluice.conformance.Work", Version: 1, Behavior: "ok",
		AcquireTimeout: 30 * time.Second, Prefetch: 4, PullExpiry: time.Second,
		ReportInterval: 250 * time.Millisecond, ReportTTL: 3 * time.Second, IdleReturn: 500 * time.Millisecond,
		PublishTimeout: 5 * time.Second, VersionPolicy: "FAIL"}
}

// token is a held credit token (§6.3).
type token struct {
	msg jetstream.Msg
	n   uint32
	// spent counts reserved and confirmed credits; pending counts reservations whose publish
	// has not finished.
	spent, pending uint32
	lastWPI        time.Time
}

// Producer publishes work messages, spending one credit each.
type Producer struct {
	cfg   ProducerConfig
	ev    *Events
	nc    *nats.Conn
	js    jetstream.JetStream
	creds jetstream.Consumer
	ctlKV jetstream.KeyValue
	capKV jetstream.KeyValue
	lease time.Duration
	batch uint32

	mu           sync.Mutex
	held         []*token
	waiting      int
	pulls        int
	lastActivity time.Time
	changed      chan struct{}
	closing      bool
	sentTotal    uint64
	reported     bool

	reportNow chan struct{}
	warned    bool

	advertsAt time.Time
	adverts   []*sluicepb.CapacityAdvert

	maxMsgSize int64 // the work stream's max_msg_size, read once (§2.2)
}

// NewProducer connects and checks the topology; it creates nothing (§2).
func NewProducer(ctx context.Context, cfg ProducerConfig, ev *Events) (*Producer, error) {
	if !sluice.ValidQueue(cfg.Queue) {
		return nil, fmt.Errorf("invalid queue name %q", cfg.Queue)
	}
	if !sluice.ValidID(cfg.ProducerID) {
		return nil, fmt.Errorf("invalid producer id %q", cfg.ProducerID)
	}
	nc, js, err := connect(cfg.Server, "sluice-peer-go producer "+cfg.ProducerID)
	if err != nil {
		return nil, err
	}
	p := &Producer{cfg: cfg, ev: ev, nc: nc, js: js, changed: make(chan struct{}), reportNow: make(chan struct{}, 1)}
	fail := func(err error) (*Producer, error) { nc.Close(); return nil, err }
	ws, err := needStream(ctx, js, sluice.WorkStream(cfg.Queue))
	if err != nil {
		return fail(err)
	}
	// Read once: a message that could never be stored is refused before it spends a credit (§2.2).
	p.maxMsgSize = int64(ws.CachedInfo().Config.MaxMsgSize)
	cs, err := needStream(ctx, js, sluice.CreditStream)
	if err != nil {
		return fail(err)
	}
	if p.creds, err = needConsumer(ctx, cs, sluice.CreditStream, sluice.CreditConsumer(cfg.Queue)); err != nil {
		return fail(err)
	}
	p.lease = p.creds.CachedInfo().Config.AckWait
	if p.lease <= 0 {
		p.lease = 10 * time.Second
	}
	if p.ctlKV, err = needBucket(ctx, js, sluice.ControlBucket); err != nil {
		return fail(err)
	}
	if p.capKV, err = needBucket(ctx, js, sluice.CapacityBucket); err != nil {
		return fail(err)
	}
	return p, nil
}

func (p *Producer) queueSettings(ctx context.Context) (*sluicepb.QueueSettings, error) {
	e, err := p.ctlKV.Get(ctx, sluice.QueueSettingsKey(p.cfg.Queue))
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return sluice.DecodeQueueSettings(e.Value())
}

// broadcast wakes everything waiting on the pool; p.mu must be held.
func (p *Producer) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Run sends cfg.Count messages, then returns its held tokens and deletes its report.
func (p *Producer) Run(ctx context.Context) error {
	defer p.nc.Close()
	p.ev.Emit(ReadyEvent{Event: "ready", Role: "producer", ID: p.cfg.ProducerID, Lang: Lang})

	bgCtx, stopBg := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	for i := 0; i < p.cfg.Prefetch; i++ {
		bg.Add(1)
		go func() { defer bg.Done(); p.puller(bgCtx) }()
	}
	reporterDone := make(chan struct{})
	go func() { defer close(reporterDone); p.reporter(bgCtx) }()

	var sent int64
	var runErr error
	for i := 0; i < p.cfg.Count; i++ {
		if err := p.send(ctx, int64(p.cfg.Start+i)); err != nil {
			runErr = err
			break
		}
		sent++
	}

	// Close: stop pulling, return every held token, delete the report (§6.1, §6.7).
	p.mu.Lock()
	p.closing = true
	p.broadcast()
	p.mu.Unlock()
	bg.Wait()
	stopBg()
	<-reporterDone
	cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := p.settle(cctx, true); err != nil && runErr == nil {
		runErr = fmt.Errorf("returning held tokens: %w", err)
	}
	if err := p.ctlKV.Delete(cctx, sluice.ProducerReportKey(p.cfg.Queue, p.cfg.ProducerID)); err != nil {
		log.Printf("producer %s: deleting report: %v", p.cfg.ProducerID, err)
	}
	if runErr != nil {
		return runErr
	}
	p.ev.Emit(DoneEvent{Event: "done", ID: p.cfg.ProducerID, Sent: &sent})
	return nil
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
		uncovered := int64(p.waiting) - int64(p.unspentLocked())
		if uncovered <= 0 || int64(p.pulls) >= min(int64(p.cfg.Prefetch), uncovered) {
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
		batch, err := p.creds.Fetch(1, jetstream.FetchMaxWait(p.cfg.PullExpiry))
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
			log.Printf("producer %s: token pull: %v", p.cfg.ProducerID, err)
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return
			}
		}
	}
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
	n := sluice.TokenValue(m.Subject())
	if n == 0 {
		log.Printf("producer %s: dropping token with invalid subject %s", p.cfg.ProducerID, m.Subject())
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
	p.broadcast()
}

// reserve takes one credit from a held token, waiting for a token until the deadline (§6.4).
func (p *Producer) reserve(ctx context.Context, deadline time.Time) (*token, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		for _, t := range p.held {
			if t.spent < t.n {
				t.spent++
				t.pending++
				p.lastActivity = time.Now()
				return t, nil
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, p.acquireError(ctx)
		}
		p.waiting++
		p.lastActivity = time.Now()
		p.broadcast()
		ch := p.changed
		p.mu.Unlock()
		timer := time.NewTimer(left)
		select {
		case <-ch:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		p.mu.Lock()
		p.waiting--
		p.lastActivity = time.Now()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// acquireError explains a send that waited longer than the acquire timeout (§6.8); p.mu is held.
func (p *Producer) acquireError(ctx context.Context) error {
	p.mu.Unlock()
	defer p.mu.Lock()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ads, err := liveAdverts(rctx, p.capKV, p.cfg.Queue)
	if err != nil {
		return fmt.Errorf("acquire timeout after %s: no credit (adverts unreadable: %v)", p.cfg.AcquireTimeout, err)
	}
	var standing uint32
	var bounds sluice.Bounds
	if s, err := p.queueSettings(rctx); err == nil && s != nil {
		standing = s.GetStandingBuffer()
		bounds = sluice.Bounds{MaxWorkerCapacity: s.GetMaxWorkerCapacity(), MaxWindow: s.GetMaxWindow()}
	}
	var views []sluice.AdvertView
	for _, a := range ads {
		views = append(views, sluice.View(a))
	}
	w := sluice.Window(standing, bounds, views, time.Now().UnixMilli())
	if len(ads) == 0 && standing == 0 {
		return fmt.Errorf("acquire timeout after %s: no live workers for queue %s", p.cfg.AcquireTimeout, p.cfg.Queue)
	}
	return fmt.Errorf("acquire timeout after %s: all credits in use (live window %d)", p.cfg.AcquireTimeout, w)
}

// finish ends a reservation: refunded, or confirmed as spent.
func (p *Producer) finish(t *token, refund bool) {
	p.mu.Lock()
	t.pending--
	if refund {
		t.spent--
	}
	full := t.spent == t.n && t.pending == 0
	p.broadcast()
	p.mu.Unlock()
	if full {
		select {
		case p.reportNow <- struct{}{}:
		default:
		}
	}
}

// checkVersion applies the version policy against the live adverts (§4.3).
func (p *Producer) checkVersion(ctx context.Context) error {
	if p.cfg.VersionPolicy == "ALLOW" {
		return nil
	}
	if time.Since(p.advertsAt) > time.Second {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ads, err := liveAdverts(rctx, p.capKV, p.cfg.Queue)
		cancel()
		if err != nil {
			return nil // nothing to check against
		}
		p.adverts, p.advertsAt = ads, time.Now()
	}
	if len(p.adverts) == 0 {
		return nil
	}
	var handled []string
	for _, a := range p.adverts {
		for _, h := range a.GetHandled() {
			if h.GetType() == p.cfg.Type && int(h.GetMinVersion()) <= p.cfg.Version && p.cfg.Version <= int(h.GetMaxVersion()) {
				return nil
			}
			handled = append(handled, fmt.Sprintf("%s@%d-%d", h.GetType(), h.GetMinVersion(), h.GetMaxVersion()))
		}
	}
	err := fmt.Errorf("version not handled: no live worker of queue %s handles %s version %d (live workers handle: %s)",
		p.cfg.Queue, p.cfg.Type, p.cfg.Version, strings.Join(handled, ", "))
	if p.cfg.VersionPolicy == "WARN" {
		if !p.warned {
			log.Printf("producer %s: %v", p.cfg.ProducerID, err)
			p.warned = true
		}
		return nil
	}
	return err
}

// send publishes one work message (§6.4, §6.5).
func (p *Producer) send(ctx context.Context, seq int64) error {
	start := time.Now()
	deadline := start.Add(p.cfg.AcquireTimeout)
	msgID := p.cfg.ProducerID + "-" + strconv.FormatInt(seq, 10)
	if err := p.checkVersion(ctx); err != nil {
		return err
	}
	traceID := sluice.NewTraceID()
	body := fmt.Sprintf(`{"seq": %d, "behavior": %q}`, seq, p.cfg.Behavior)
	msg := &nats.Msg{Subject: sluice.WorkSubject(p.cfg.Queue), Data: []byte(body), Header: nats.Header{
		sluice.HdrMsgID:       {msgID},
		sluice.HdrProtocol:    {strconv.Itoa(sluice.Protocol)},
		sluice.HdrType:        {p.cfg.Type},
		sluice.HdrTypeVersion: {strconv.Itoa(p.cfg.Version)},
		sluice.HdrContentType: {"application/json"},
		sluice.HdrTraceparent: {sluice.Traceparent(traceID, sluice.NewSpanID())},
		sluice.HdrProducer:    {p.cfg.ProducerID},
		sluice.HdrSentAt:      {strconv.FormatInt(start.UnixMilli(), 10)},
	}}
	if p.cfg.FairnessKey != "" { // §15.3
		msg.Header[sluice.HdrFairnessKey] = []string{p.cfg.FairnessKey}
	}
	if err := sluice.CheckSize(msg.Header, len(msg.Data), sluice.WorkStream(p.cfg.Queue), p.maxMsgSize, p.nc.MaxPayload()); err != nil {
		return fmt.Errorf("publish %s: %w", msgID, err)
	}
	t, err := p.reserve(ctx, deadline)
	if err != nil {
		return err
	}
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, p.cfg.PublishTimeout)
		ack, err := p.js.PublishMsg(pctx, msg)
		cancel()
		if err == nil {
			dup := ack.Duplicate && attempt == 1
			p.finish(t, dup)
			p.mu.Lock()
			if !dup {
				p.sentTotal++
			}
			p.mu.Unlock()
			p.ev.Emit(SentEvent{Event: "sent", ID: p.cfg.ProducerID, MsgID: msgID, Seq: seq, TraceID: traceID, StreamSeq: ack.Sequence})
			return nil
		}
		hardWall := isMaxMsgs(err)
		if !hardWall && isAPIError(err) {
			// A definite rejection: the message is not stored.
			p.finish(t, true)
			return fmt.Errorf("publish %s: %w", msgID, err)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			// The last attempt may have been stored: the credit stays spent.
			p.finish(t, hardWall)
			if hardWall {
				return fmt.Errorf("publish %s: work stream %s at its hard limit (max_msgs) for %s",
					msgID, sluice.WorkStream(p.cfg.Queue), p.cfg.AcquireTimeout)
			}
			return fmt.Errorf("publish %s: %w", msgID, err)
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

// reporter writes the report every interval while holding or waiting, acks fully spent tokens
// after the report that excludes them, extends held tokens, and returns idle ones (§6.1–§6.7).
func (p *Producer) reporter(ctx context.Context) {
	t := time.NewTicker(p.cfg.ReportInterval)
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
			log.Printf("producer %s: %v", p.cfg.ProducerID, err)
		}
	}
}

// settle does one report cycle; with all set it returns every held token (close).
func (p *Producer) settle(ctx context.Context, all bool) error {
	now := time.Now()
	p.mu.Lock()
	var spentOut, returned, keep []*token
	idle := p.waiting == 0 && now.Sub(p.lastActivity) >= p.cfg.IdleReturn
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
	r := &sluicepb.ProducerReport{ProducerId: p.cfg.ProducerID, Queue: p.cfg.Queue, Waiting: uint32(p.waiting),
		HeartbeatUnixMs: now.UnixMilli(), TtlMs: uint32(p.cfg.ReportTTL.Milliseconds()), Language: Lang, SentTotal: p.sentTotal}
	r.FairnessKeys = sluice.FairnessReport(p.cfg.FairnessKey, r.Waiting, p.sentTotal) // §15.3
	for _, t := range keep {
		r.HeldSpent += t.spent
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
		p.ev.Emit(ReturnedEvent{Event: "returned", ID: p.cfg.ProducerID, Unspent: t.n - t.spent})
	}
	return firstErr
}

func ackToken(ctx context.Context, m jetstream.Msg) error {
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return m.DoubleAck(actx)
}

func (p *Producer) writeReport(ctx context.Context, r *sluicepb.ProducerReport) error {
	b, err := sluice.Encode(r)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = p.ctlKV.Put(wctx, sluice.ProducerReportKey(p.cfg.Queue, p.cfg.ProducerID), b)
	return err
}
