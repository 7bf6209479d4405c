package sluice_test

import (
	"context"
	"testing"

	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicepb"
)

// The producer sends Content-Type unless it is §3's default (application/x-protobuf), which a
// worker assumes when the header is absent: the protobuf codec's messages go without it.
func TestProducerOmitsDefaultContentType(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	q := fresh("contenttype")
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{StandingBuffer: 8}); err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, sluice.WorkStream(q))
	if err != nil {
		t.Fatal(err)
	}
	p, err := sluice.NewProducer(ctx, nc, q, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	proto, err := sluice.NewMessage(sluice.Protobuf[*sluicepb.ProducerReport](), "ct-proto", "t.P", 1, &sluicepb.ProducerReport{ProducerId: "x"})
	if err != nil {
		t.Fatal(err)
	}
	json, err := sluice.NewMessage(sluice.JSON[int](), "ct-json", "t.J", 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m    sluice.Message
		want []string
	}{
		{proto, nil},
		{json, []string{"application/json"}},
		{sluice.Message{ID: "ct-explicit-default", Type: "t.B", Version: 1, ContentType: sluice.DefaultContentType, Data: []byte("x")}, nil},
		{sluice.Message{ID: "ct-none", Type: "t.B", Version: 1, Data: []byte("x")}, nil},
	} {
		res, err := p.Send(ctx, c.m)
		if err != nil {
			t.Fatalf("%s: %v", c.m.ID, err)
		}
		stored, err := stream.GetMsg(ctx, res.StreamSeq)
		if err != nil {
			t.Fatal(err)
		}
		got := stored.Header.Values(sluice.HdrContentType)
		if len(got) != len(c.want) || len(got) == 1 && got[0] != c.want[0] {
			t.Errorf("%s: Content-Type %q, want %q", c.m.ID, got, c.want)
		}
	}
}
