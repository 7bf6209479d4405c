package sluice_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicepb"
)

// A message with a fairness key carries it in Sluice-Fairness-Key, one without carries none, and
// the producer's report lists the key with what it was granted (§15.3); an invalid key is refused
// before anything is sent.
func TestFairnessKeyIsSentAndReported(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	queue := fresh("fair")
	if err := sluice.Provision(ctx, js, queue, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	keys := map[string][]string{}
	w, err := sluice.NewWorker(ctx, nc, queue, quiet, sluice.Handle("test.F", 1, 1, sluice.JSON[int](),
		func(_ context.Context, _ int, m *sluice.Msg) error {
			mu.Lock()
			keys[m.ID] = m.Header.Values(sluice.HdrFairnessKey)
			mu.Unlock()
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	p, err := sluice.NewProducer(ctx, nc, queue, quiet, sluice.WithProducerID("fair-p1"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for i := 0; i < 3; i++ {
		m, _ := sluice.NewMessage(sluice.JSON[int](), fmt.Sprintf("keyed-%d", i), "test.F", 1, i)
		m.FairnessKey = "tenant-a"
		if _, err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	plain, _ := sluice.NewMessage(sluice.JSON[int](), "plain-1", "test.F", 1, 9)
	if _, err := p.Send(ctx, plain); err != nil {
		t.Fatal(err)
	}
	bad, _ := sluice.NewMessage(sluice.JSON[int](), "bad-key", "test.F", 1, 0)
	bad.FairnessKey = "has space"
	var ce *sluice.ConfigError
	if _, err := p.Send(ctx, bad); !errors.As(err, &ce) || ce.Option != "Message.FairnessKey" {
		t.Errorf("a fairness key with a space: %v, want a Message.FairnessKey ConfigError", err)
	}

	eventually(t, 10*time.Second, "4 messages handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(keys) == 4 })
	mu.Lock()
	for i := 0; i < 3; i++ {
		if got := keys[fmt.Sprintf("keyed-%d", i)]; len(got) != 1 || got[0] != "tenant-a" {
			t.Errorf("keyed-%d arrived with fairness key %v, want [tenant-a]", i, got)
		}
	}
	if got := keys["plain-1"]; len(got) != 0 {
		t.Errorf("an unkeyed message arrived with fairness key %v", got)
	}
	mu.Unlock()

	ctl, err := js.KeyValue(ctx, sluice.ControlBucket)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the producer's report listing tenant-a granted 3", func() bool {
		e, err := ctl.Get(ctx, sluice.ProducerReportKey(queue, "fair-p1"))
		if err != nil {
			return false
		}
		r := &sluicepb.ProducerReport{}
		if sluice.Decode(e.Value(), r) != nil {
			return false
		}
		ks := r.GetFairnessKeys()
		return len(ks) == 1 && ks[0].GetKey() == "tenant-a" && ks[0].GetGrantedTotal() == 3 && ks[0].GetWeight() == 1
	})
}

// With a rate set on the queue (§15.2) a worker mints its replenishment at its share of the rate,
// so producers that wait for credits send no faster than burst + rate × t, and the advert shows
// the share. Without pacing the 30 sends below take a fraction of a second.
func TestRateLimitPacesTheWorkersMints(t *testing.T) {
	ctx := context.Background()
	nc, js := connect(t)
	queue := fresh("paced")
	if err := sluice.Provision(ctx, js, queue, sluice.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	ctl, err := js.KeyValue(ctx, sluice.ControlBucket)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ctl.Get(ctx, sluice.QueueSettingsKey(queue))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := sluice.DecodeQueueSettings(e.Value())
	if err != nil {
		t.Fatal(err)
	}
	const rate, burst = 10.0, 10
	qs.RatePerSecond, qs.RateBurst = rate, burst
	b, _ := sluice.Encode(qs)
	if _, err := ctl.Put(ctx, sluice.QueueSettingsKey(queue), b); err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	w, err := sluice.NewWorker(ctx, nc, queue, quiet, sluice.WithWorkerID("paced-w1"), sluice.WithObserver(ev.observe),
		sluice.WithAuditInterval(500*time.Millisecond),
		sluice.Handle("test.R", 1, 1, sluice.JSON[int](), func(context.Context, int, *sluice.Msg) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, w)
	kv, _ := js.KeyValue(ctx, sluice.CapacityBucket)
	eventually(t, 5*time.Second, "the advert with the whole rate as its share", func() bool {
		a := advertOf(ctx, kv, queue, "paced-w1")
		return a != nil && a.GetRateLimited() && a.GetRateShare() == rate
	})
	p, err := sluice.NewProducer(ctx, nc, queue, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	const n = 30
	start := time.Now()
	for i := 0; i < n; i++ {
		m, _ := sluice.NewMessage(sluice.JSON[int](), fmt.Sprintf("r-%d", i), "test.R", 1, i)
		if _, err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(start)
	// At most burst + rate × t sends in t: 30 sends need at least (30 − 10) / 10 = 2 s; 1.5 s
	// leaves room for the clocks of the test and the server.
	if least := 1500 * time.Millisecond; took < least {
		t.Errorf("%d sends took %s at a rate of %g/s with burst %d, want at least %s", n, took, rate, burst, least)
	}
	t.Logf("%d sends took %s", n, took)
	eventually(t, 10*time.Second, "all processed", func() bool { return len(ev.processed()) == n })
}
