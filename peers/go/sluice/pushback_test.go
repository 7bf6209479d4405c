package sluice

import (
	"testing"
	"time"
)

// testPushback replays pushback.json (PROTOCOL.md §15.1) on the AIMD limit.
func testPushback(t *testing.T) {
	var doc struct {
		Cases []struct {
			Name   string `json:"name"`
			Params struct {
				Nominal            int     `json:"nominal"`
				Decrease           float64 `json:"decrease"`
				Floor              int     `json:"floor"`
				DecreaseIntervalMs int64   `json:"decrease_interval_ms"`
				IncreaseIntervalMs int64   `json:"increase_interval_ms"`
			} `json:"params"`
			Events []struct {
				Event     string `json:"event"`
				AtMs      int64  `json:"at_ms"`
				Nominal   *int   `json:"nominal"`
				Idle      bool   `json:"idle"`
				Decreased *bool  `json:"decreased"`
				Capacity  int    `json:"capacity"`
				Lowered   bool   `json:"lowered"`
			} `json:"events"`
		} `json:"cases"`
	}
	load(t, "pushback.json", &doc)
	for _, c := range doc.Cases {
		p := c.Params
		a := NewAIMD(PushbackPolicy{Decrease: p.Decrease, Floor: p.Floor,
			DecreaseIntervalMs: p.DecreaseIntervalMs, IncreaseIntervalMs: p.IncreaseIntervalMs})
		for i, e := range c.Events {
			nominal := p.Nominal
			if e.Nominal != nil {
				nominal = *e.Nominal
			}
			switch e.Event {
			case "pushback":
				if got := a.Pushback(nominal, e.AtMs); e.Decreased == nil || got != *e.Decreased {
					t.Errorf("%s event %d: decreased %v", c.Name, i, got)
				}
			case "success":
				a.Succeeded()
			case "tick":
				a.Tick(nominal, e.AtMs, e.Idle)
			default:
				t.Fatalf("%s event %d: unknown event %q", c.Name, i, e.Event)
			}
			if got := a.Capacity(nominal); got != e.Capacity {
				t.Errorf("%s event %d: capacity %d, want %d", c.Name, i, got, e.Capacity)
			}
			if a.Lowered() != e.Lowered {
				t.Errorf("%s event %d: lowered %v, want %v", c.Name, i, a.Lowered(), e.Lowered)
			}
		}
	}
}

func TestAIMDFloorKeepsTheQueueAlive(t *testing.T) {
	a := NewAIMD(DefaultPushbackPolicy)
	for ms := int64(0); ms < 20000; ms += 1000 {
		a.Pushback(64, ms)
	}
	if got := a.Capacity(64); got != 1 {
		t.Fatalf("capacity %d at the floor, want 1", got)
	}
	if a.LoweredSinceMs() != 0 || a.Decreases() != 20 {
		t.Fatalf("lowered since %d, decreases %d", a.LoweredSinceMs(), a.Decreases())
	}
}

func TestPushbackDelay(t *testing.T) {
	b := Backoff{InitialMs: 100, Multiplier: 2, MaxDelayMs: 1000, Jitter: 0}
	if got := PushbackDelayMs(250, 3, b, 0.5); got != 250 {
		t.Fatalf("retry-after: %v", got)
	}
	if got := PushbackDelayMs(-1, 3, b, 0.5); got != 400 {
		t.Fatalf("backoff for the third pushback: %v", got)
	}
}

func TestPushbackGateHoldsRunsToTheLoweredCapacity(t *testing.T) {
	b := NewPushback(DefaultPushbackPolicy, func() int { return 4 })
	b.Enter()
	b.Enter() // not lowered: no limit
	b.Exit()
	b.Exit()
	b.Pushed(1000) // 4 -> 2
	if lim, ok := b.Limit(); !ok || lim != 2 {
		t.Fatalf("limit %d %v, want 2", lim, ok)
	}
	b.Enter()
	b.Enter()
	entered := make(chan struct{})
	go func() { b.Enter(); close(entered) }()
	select {
	case <-entered:
		t.Fatal("a third run entered while the limit is 2")
	case <-time.After(50 * time.Millisecond):
	}
	b.Exit()
	select {
	case <-entered:
	case <-time.After(2 * time.Second):
		t.Fatal("the third run did not enter after one exited")
	}
	if b.Pushbacks() != 1 {
		t.Fatalf("pushbacks %d", b.Pushbacks())
	}
}
