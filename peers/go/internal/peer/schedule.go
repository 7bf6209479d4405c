package peer

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluice"
)

// ScheduledEvent is emitted once a schedule entry is stored (PROTOCOL.md §13.3).
type ScheduledEvent struct {
	Event     string `json:"event"`
	ID        string `json:"id"`
	MsgID     string `json:"msg_id"`
	Seq       int64  `json:"seq"`
	TraceID   string `json:"trace_id"`
	DueUnixMs int64  `json:"due_unix_ms"`
	StreamSeq uint64 `json:"stream_seq"`
}

// Schedule stores cfg.Count one-shot schedules, each due delay after it is stored, in the
// queue's schedule stream (§13.3): version rule first, then the entry, then its PubAck. It takes
// no credit: the firing process spends one when the message is due.
func Schedule(ctx context.Context, cfg ProducerConfig, delay time.Duration, ev *Events) error {
	p, err := NewProducer(ctx, cfg, ev)
	if err != nil {
		return err
	}
	defer p.nc.Close()
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.p.Close(cctx)
	}()
	js, err := jetstream.New(p.nc)
	if err != nil {
		return err
	}
	if err := needStream(ctx, js, sluice.ScheduleStream(cfg.Queue)); err != nil {
		return fmt.Errorf("%w (provision the queue again to add its schedule stream)", err)
	}
	ev.Emit(ReadyEvent{Event: "ready", Role: "producer", ID: cfg.ProducerID, Lang: Lang})
	var stored int64
	for i := 0; i < cfg.Count; i++ {
		seq := int64(cfg.Start + i)
		if err := p.p.CheckVersion(ctx, cfg.Type, cfg.Version); err != nil {
			return err
		}
		now := time.Now()
		due, ok := sluice.DueAt(now.Add(delay), now)
		if !ok {
			return fmt.Errorf("a message can be scheduled at most %s ahead", sluice.MaxScheduleDelay)
		}
		msgID := cfg.ProducerID + "-" + strconv.FormatInt(seq, 10)
		traceID := sluice.NewTraceID()
		body := fmt.Sprintf(`{"seq": %d, "behavior": %q}`, seq, cfg.Behavior)
		msg := &nats.Msg{Subject: sluice.ScheduleSubject(cfg.Queue, msgID), Data: []byte(body), Header: nats.Header{
			sluice.HdrMsgID:       {sluice.ScheduleEntryMsgID(msgID, due.UnixMilli())},
			sluice.HdrProtocol:    {strconv.Itoa(sluice.Protocol)},
			sluice.HdrScheduleID:  {msgID},
			sluice.HdrDueAt:       {strconv.FormatInt(due.UnixMilli(), 10)},
			sluice.HdrType:        {cfg.Type},
			sluice.HdrTypeVersion: {strconv.Itoa(cfg.Version)},
			sluice.HdrContentType: {"application/json"},
			sluice.HdrTraceparent: {sluice.Traceparent(traceID, sluice.NewSpanID())},
			sluice.HdrProducer:    {cfg.ProducerID},
			sluice.HdrSentAt:      {strconv.FormatInt(now.UnixMilli(), 10)},
		}}
		pctx, cancel := context.WithTimeout(ctx, cfg.PublishTimeout)
		ack, err := js.PublishMsg(pctx, msg)
		cancel()
		if err != nil {
			return fmt.Errorf("storing schedule %s: %w", msgID, err)
		}
		stored++
		ev.Emit(ScheduledEvent{Event: "scheduled", ID: cfg.ProducerID, MsgID: msgID, Seq: seq,
			TraceID: traceID, DueUnixMs: due.UnixMilli(), StreamSeq: ack.Sequence})
	}
	ev.Emit(DoneEvent{Event: "done", ID: cfg.ProducerID, Sent: &stored})
	return nil
}
