package sluice_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"

	"sluice.dev/peers/go/sluice"
)

// injectNothing is a configured propagator with no span to inject.
type injectNothing struct{}

func (injectNothing) Inject(context.Context, nats.Header) {}
func (injectNothing) Extract(ctx context.Context, _ nats.Header) context.Context {
	return ctx
}

// A producer with no tracing configured starts each message's trace unsampled (flags 00): a
// valid W3C traceparent that does not make nats-server 2.11+ parse the message's headers for
// its own tracing. A producer with a propagator, and a send continuing a handler's trace, keep
// the sampled flag.
func TestProducerTraceparentFlags(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	handlerCtx := sluice.ContextWithTrace(ctx, sluice.TraceContext{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7"})
	for i, c := range []struct {
		name      string
		opts      []sluice.ProducerOption
		ctx       context.Context
		flags     string
		continues string
	}{
		{"no tracing", nil, ctx, "00", ""},
		{"a propagator", []sluice.ProducerOption{sluice.WithPropagator(injectNothing{})}, ctx, "01", ""},
		{"a handler's trace", nil, handlerCtx, "01", "4bf92f3577b34da6a3ce929d0e0e4736"},
	} {
		// A queue per case: a producer holds a whole token.
		q := fresh("traceflags-" + strconv.Itoa(i))
		if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{StandingBuffer: 2}); err != nil {
			t.Fatal(err)
		}
		stream, err := js.Stream(ctx, sluice.WorkStream(q))
		if err != nil {
			t.Fatal(err)
		}
		p, err := sluice.NewProducer(ctx, nc, q, append(c.opts, quiet)...)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Send(c.ctx, sluice.Message{ID: "tf-1", Type: "t.T", Version: 1, Data: []byte("x")})
		_ = p.Close(ctx)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		stored, err := stream.GetMsg(ctx, res.StreamSeq)
		if err != nil {
			t.Fatal(err)
		}
		tp := stored.Header.Get(sluice.HdrTraceparent)
		traceID, _, ok := sluice.ParseTraceparent(tp)
		if !ok || tp[53:] != c.flags || traceID != res.TraceID {
			t.Errorf("%s: traceparent %q (trace id %q in the result), want flags %s", c.name, tp, res.TraceID, c.flags)
		}
		if c.continues != "" && traceID != c.continues {
			t.Errorf("%s: trace %s, want the handler's %s", c.name, traceID, c.continues)
		}
	}
}
