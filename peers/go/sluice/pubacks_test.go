package sluice

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluicetest"
)

// Work publishes wait for their PubAcks on the producer's one subscription: a stored message
// gets its sequence, a subject no stream listens on is ErrNoStreamResponse, a reply that never
// comes is a timeout or ctx's error, and a reply arriving after its publish gave up is dropped
// without reaching the next publish.
func TestPubAcksAgainstARealServer(t *testing.T) {
	nc, err := nats.Connect(sluicetest.Run(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "PUBACKS", Subjects: []string{"work.pubacks"}}); err != nil {
		t.Fatal(err)
	}
	acks, err := newPubAcks(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer acks.close()
	msg := func(subject string) *nats.Msg {
		return &nats.Msg{Subject: subject, Header: nats.Header{HdrMsgID: {"m-" + subject}}, Data: []byte("x")}
	}
	for want := uint64(1); want <= 2; want++ {
		seq, dup, err := publishWork(ctx, acks, &nats.Msg{Subject: "work.pubacks", Data: []byte("x")}, 5*time.Second)
		if err != nil || seq != want || dup {
			t.Fatalf("publish %d: seq %d, duplicate %v, %v", want, seq, dup, err)
		}
	}
	if _, _, err := publishWork(ctx, acks, msg("work.nobody"), 5*time.Second); !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Errorf("no stream on the subject: %v, want jetstream.ErrNoStreamResponse", err)
	}

	// A responder that answers each request 300 ms late.
	var responded atomic.Int32
	late, err := nc.Subscribe("work.late", func(m *nats.Msg) {
		go func() {
			time.Sleep(300 * time.Millisecond) // the responder's delay, not a wait for a condition
			_ = m.Respond([]byte(`{"stream":"LATE","seq":99}`))
			responded.Add(1)
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer late.Unsubscribe()
	if _, _, err := publishWork(ctx, acks, msg("work.late"), 50*time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		t.Errorf("a PubAck later than the timeout: %v, want nats.ErrTimeout", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, _, err := publishWork(cctx, acks, msg("work.late"), 5*time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ctx ending before the PubAck: %v, want context.DeadlineExceeded", err)
	}
	sluicetest.Eventually(t, 5*time.Second, "both late replies sent", func() bool { return responded.Load() == 2 })
	// The server delivers the replies before it answers the flush, and the subscription hands
	// its messages over in order: the late replies reach the mux before the next PubAck.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	seq, _, err := publishWork(ctx, acks, &nats.Msg{Subject: "work.pubacks", Data: []byte("x")}, 5*time.Second)
	if err != nil || seq != 3 {
		t.Errorf("the next publish after late replies: seq %d, %v; want 3 (its own PubAck)", seq, err)
	}
}
