package peer

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"sluice.dev/peers/go/sluice"
)

// ProducerConfig holds a producer's command-line settings (peers/README.md).
type ProducerConfig struct {
	Server, Queue, ProducerID string
	Count, Start              int
	Type                      string
	Version                   int
	Behavior                  string
	// FairnessKey is sent as Sluice-Fairness-Key when set (§15.3).
	FairnessKey    string
	AcquireTimeout time.Duration
	PublishTimeout time.Duration
}

// DefaultProducerConfig returns the contract's defaults.
func DefaultProducerConfig() ProducerConfig {
	return ProducerConfig{Type: "sluice.conformance.Work", Version: 1, Behavior: "ok",
		AcquireTimeout: 30 * time.Second, PublishTimeout: 5 * time.Second}
}

// Producer is the contract's producer role on the library's sluice.Producer.
type Producer struct {
	cfg ProducerConfig
	ev  *Events
	nc  *nats.Conn
	p   *sluice.Producer
}

// NewProducer connects and builds the library producer (which checks the topology).
func NewProducer(ctx context.Context, cfg ProducerConfig, ev *Events) (*Producer, error) {
	nc, err := connect(cfg.Server, "sluice-peer-go producer "+cfg.ProducerID)
	if err != nil {
		return nil, err
	}
	p, err := sluice.NewProducer(ctx, nc, cfg.Queue, sluice.WithProducerID(cfg.ProducerID),
		sluice.WithAcquireTimeout(cfg.AcquireTimeout), sluice.WithPublishTimeout(cfg.PublishTimeout),
		sluice.WithObserver(func(e sluice.Event) {
			if r, ok := e.(*sluice.CreditsReturned); ok {
				ev.Emit(ReturnedEvent{Event: "returned", ID: r.ProducerID, Unspent: r.Unspent})
			}
		}))
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &Producer{cfg: cfg, ev: ev, nc: nc, p: p}, nil
}

// Run sends cfg.Count messages one at a time, then closes the producer (returning its held
// tokens and deleting its report).
func (p *Producer) Run(ctx context.Context) error {
	defer p.nc.Close()
	p.ev.Emit(ReadyEvent{Event: "ready", Role: "producer", ID: p.cfg.ProducerID, Lang: Lang})
	var sent int64
	var runErr error
	for i := 0; i < p.cfg.Count; i++ {
		seq := int64(p.cfg.Start + i)
		msg := sluice.Message{ID: p.cfg.ProducerID + "-" + strconv.FormatInt(seq, 10), Type: p.cfg.Type,
			Version: p.cfg.Version, ContentType: "application/json",
			Data:        []byte(fmt.Sprintf(`{"seq": %d, "behavior": %q}`, seq, p.cfg.Behavior)),
			FairnessKey: p.cfg.FairnessKey} // §15.3
		res, err := p.p.Send(ctx, msg)
		if err != nil {
			runErr = err
			break
		}
		sent++
		p.ev.Emit(SentEvent{Event: "sent", ID: p.cfg.ProducerID, MsgID: msg.ID, Seq: seq, TraceID: res.TraceID, StreamSeq: res.StreamSeq})
	}
	cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := p.p.Close(cctx); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return runErr
	}
	p.ev.Emit(DoneEvent{Event: "done", ID: p.cfg.ProducerID, Sent: &sent})
	return nil
}
