package sluice_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicepb"
)

// leaseOf reads queue's reconciler lease and its revision; nil while there is none.
func leaseOf(ctx context.Context, ctl jetstream.KeyValue, queue string) (*sluicepb.ReconcilerLease, uint64) {
	e, err := ctl.Get(ctx, sluice.ReconcilerKey(queue))
	if err != nil {
		return nil, 0
	}
	l := &sluicepb.ReconcilerLease{}
	if sluice.Decode(e.Value(), l) != nil {
		return nil, 0
	}
	return l, e.Revision()
}

// An idle queue whose pending debt is larger than its surplus (§5.5 [v1.3]): nothing is left to
// finish that could pay the debt, so the deficit it leaves is minted rather than kept until
// messages flow, a surplus found beside it is fetched from the stream rather than announced as
// more debt, and the first messages that finish pay the debt, after which the queue holds its
// window again with every message processed.
func TestIdleQueueWithADebtLargerThanItsSurplus(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	const id, window = "idle-w1", 64
	// Its own queue and token ids at every run: -count=N runs share one server.
	run := time.Now().UnixNano()
	queue, nonce := fmt.Sprintf("idledebt-%d", run), fmt.Sprintf("%016x", run)
	if err := sluice.Provision(ctx, js, queue, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	w, err := sluice.NewWorker(ctx, nc, queue, quiet, sluice.WithWorkerID(id), sluice.WithObserver(ev.observe),
		sluice.WithCapacity(window), sluice.WithAuditInterval(200*time.Millisecond),
		sluice.WithHeartbeat(200*time.Millisecond, time.Second),
		sluice.Handle("test.D", 1, 1, sluice.JSON[int](), func(context.Context, int, *sluice.Msg) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	ctl, _ := js.KeyValue(ctx, sluice.ControlBucket)
	capKV, _ := js.KeyValue(ctx, sluice.CapacityBucket)
	stored := func() uint64 { n, _ := sluice.StoredCredits(ctx, js, queue); return n }

	first := time.Now().UnixMilli()
	eventually(t, 10*time.Second, "the window minted and a heartbeat advert (the worker has read the lease)", func() bool {
		a := advertOf(ctx, capKV, queue, id)
		return stored() == window && a != nil && a.GetHeartbeatUnixMs() > first
	})

	// Announce a debt of 40 to the worker, as a reconciler that read a wrong surplus would.
	const debt = 40
	var debtID int64
	eventually(t, 10*time.Second, "the debt announced", func() bool {
		l, rev := leaseOf(ctx, ctl, queue)
		if l == nil {
			return false
		}
		debtID = max(time.Now().UnixMilli(), l.GetDebtId()+1)
		l.DebtId, l.Debts = debtID, map[string]uint64{id: debt}
		b, _ := sluice.Encode(l)
		_, err := ctl.Update(ctx, sluice.ReconcilerKey(queue), b, rev)
		return err == nil
	})
	eventually(t, 10*time.Second, "the deficit the debt leaves minted on the idle queue", func() bool {
		a := advertOf(ctx, capKV, queue, id)
		return a != nil && a.GetDebt() == debt && stored() == window+debt
	})

	// A surplus beside the debt: with nothing to finish, nothing is payable, so the tokens are
	// fetched and no new debt is announced.
	for i := 1; i <= 3; i++ {
		body, _ := sluice.Encode(&sluicepb.CreditToken{Credits: 32, MintedBy: "forger", MintedUnixMs: time.Now().UnixMilli()})
		msg := &nats.Msg{Subject: sluice.CreditSubject(queue, 32), Data: body,
			Header: nats.Header{"Nats-Msg-Id": []string{sluice.TokenID("forger", nonce, uint64(i))}}}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "the surplus fetched from the stream", func() bool {
		l, _ := leaseOf(ctx, ctl, queue)
		return stored() == window+debt && l != nil && l.GetLast().GetBurned() > 0
	})
	if l, _ := leaseOf(ctx, ctl, queue); l.GetDebtId() != debtID {
		t.Fatalf("an idle queue's surplus was announced as a debt: debt id %d, want %d", l.GetDebtId(), debtID)
	}
	if a := advertOf(ctx, capKV, queue, id); a.GetDebt() != debt {
		t.Fatalf("debt %d before any message finished, want %d", a.GetDebt(), debt)
	}

	// The first messages that finish pay the debt.
	p, err := sluice.NewProducer(ctx, nc, queue, quiet)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := 0; i < n; i++ {
		m, _ := sluice.NewMessage(sluice.JSON[int](), fmt.Sprintf("d-%d", i), "test.D", 1, i)
		if _, err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "all processed", func() bool { return len(ev.processed()) == n })
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the debt paid and the window held again", func() bool {
		a := advertOf(ctx, capKV, queue, id)
		l, _ := leaseOf(ctx, ctl, queue)
		return a != nil && a.GetDebt() == 0 && stored() == window && l != nil && l.GetLast().GetDeficit() == 0 &&
			l.GetLast().GetBacklog() == 0
	})
}
