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

// A reconciler whose own advert is missing from the bucket reads a wrong window (its own capacity
// is not in it) and makes no correction from it (§5.5 [v1.3] stale view): with the advert gone,
// the window reads 0 and the queue's tokens a surplus, yet nothing is burned or announced, and
// previous_deficit stays 0 so that no later audit confirms the wrong reading.
func TestNoCorrectionWhileTheReconcilersOwnAdvertIsMissing(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	const id, window = "stale-w1", 64
	queue := fmt.Sprintf("staleview-%d", time.Now().UnixNano())
	if err := sluice.Provision(ctx, js, queue, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	// Audits every 200 ms, the advert rewritten only every 5 s: several audits see it missing.
	w, err := sluice.NewWorker(ctx, nc, queue, quiet, sluice.WithWorkerID(id), sluice.WithCapacity(window),
		sluice.WithAuditInterval(200*time.Millisecond), sluice.WithHeartbeat(5*time.Second, 10*time.Second),
		sluice.Handle("test.S", 1, 1, sluice.JSON[int](), func(context.Context, int, *sluice.Msg) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runWorker(t, w)
	ctl, _ := js.KeyValue(ctx, sluice.ControlBucket)
	capKV, _ := js.KeyValue(ctx, sluice.CapacityBucket)
	stored := func() uint64 { n, _ := sluice.StoredCredits(ctx, js, queue); return n }
	eventually(t, 10*time.Second, "the window minted", func() bool { return stored() == window })

	if err := capKV.Delete(ctx, sluice.CapacityKey(queue, id)); err != nil {
		t.Fatal(err)
	}
	gone := time.Now().UnixMilli()
	// Four audits after the deletion: a revision-1.2 reconciler confirms a surplus in two.
	eventually(t, 10*time.Second, "audits on the view without the advert", func() bool {
		l, _ := leaseOf(ctx, ctl, queue)
		return l != nil && l.GetLast().GetAuditUnixMs() > gone+4*200
	})
	if advertOf(ctx, capKV, queue, id) != nil {
		t.Fatalf("the advert was rewritten %s after start, before the audits could be checked", time.Since(start))
	}
	l, _ := leaseOf(ctx, ctl, queue)
	if l.GetLast().GetDeficit() >= 0 {
		t.Errorf("the view without the advert read deficit %d, want the wrong surplus", l.GetLast().GetDeficit())
	}
	if l.GetPreviousDeficit() != 0 || l.GetLast().GetBurned() != 0 || l.GetLast().GetDebtAnnounced() != 0 || l.GetDebtId() != 0 {
		t.Errorf("a correction from a stale view: previous %d, burned %d, announced %d, debt id %d",
			l.GetPreviousDeficit(), l.GetLast().GetBurned(), l.GetLast().GetDebtAnnounced(), l.GetDebtId())
	}
	if n := stored(); n != window {
		t.Errorf("stored credits %d after audits on a stale view, want %d", n, window)
	}
}
