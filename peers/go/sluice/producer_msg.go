package sluice

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// sluiceHeaders is how many headers natsMsg sets at most, traceparent included.
const sluiceHeaders = 9

// sendMsg is a send's work message with the backing array of the header values it sets. Sends
// reuse them (sendMsgPool): once a send is over nothing refers to its message, as nats.go copies
// a publish into its buffer before it returns. Not with a propagator, which might keep the
// headers it was given.
type sendMsg struct {
	msg  nats.Msg
	vals [sluiceHeaders]string
}

var sendMsgPool = sync.Pool{New: func() any { return &sendMsg{msg: nats.Msg{Header: make(nats.Header, 8)}} }}

// release gives a finished send's message back to the pool, emptied.
func (p *Producer) release(sm *sendMsg) {
	if p.cfg.propagator != nil {
		return
	}
	clear(sm.msg.Header)
	sm.msg = nats.Msg{Header: sm.msg.Header}
	sm.vals = [sluiceHeaders]string{}
	sendMsgPool.Put(sm)
}

// natsMsg builds the work message with the §3 headers and its trace context, in a pooled
// sendMsg: its header map (sized to 8 entries, Go's small map of one group) and the values it
// sets, which share one backing array.
func (p *Producer) natsMsg(ctx context.Context, m Message, now time.Time) (*sendMsg, string) {
	sm := sendMsgPool.Get().(*sendMsg)
	h := sm.msg.Header
	for k, v := range m.Header {
		h[k] = append([]string(nil), v...)
	}
	vals := sm.vals[:0]
	set := func(k, v string) {
		vals = append(vals, v)
		n := len(vals)
		h[k] = vals[n-1 : n : n]
	}
	set(HdrMsgID, m.ID)
	set(HdrProtocol, protocolValue)
	set(HdrType, m.Type)
	set(HdrTypeVersion, strconv.Itoa(m.Version))
	if m.ContentType != "" && m.ContentType != DefaultContentType { // absent: the default (§3)
		set(HdrContentType, m.ContentType)
	}
	if m.FairnessKey != "" {
		set(HdrFairnessKey, m.FairnessKey) // §15.3
	}
	set(HdrProducer, p.cfg.id)
	set(HdrSentAt, strconv.FormatInt(now.UnixMilli(), 10))
	if p.cfg.propagator != nil {
		p.cfg.propagator.Inject(ctx, h)
	}
	traceID, _, ok := ParseTraceparent(First(h, HdrTraceparent))
	if !ok {
		if t, in := TraceFromContext(ctx); in {
			traceID = t.TraceID
			h[HdrTraceparent] = []string{Traceparent(traceID, NewSpanID())}
		} else {
			// With no tracing configured nothing records this trace: unsampled (flags 00), so
			// nats-server (2.11+) does not build a header map of every message for its own
			// message tracing, as it does for a sampled traceparent.
			flags := "00"
			if p.cfg.propagator != nil {
				flags = "01"
			}
			var tp string
			tp, traceID = newTraceparent(flags)
			set(HdrTraceparent, tp)
		}
	}
	sm.msg.Subject, sm.msg.Data = p.subject, m.Data
	return sm, traceID
}

var protocolValue = strconv.Itoa(Protocol)
