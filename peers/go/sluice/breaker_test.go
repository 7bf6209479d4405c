package sluice

import (
	"testing"
	"time"
)

func TestBreakerOpensProbesAndCloses(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newBreaker(10, 20, 5*time.Second, func() time.Time { return now })
	for i := 0; i < 10; i++ {
		b.record(false)
	}
	for i := 0; i < 9; i++ {
		if b.record(true) {
			t.Fatalf("opened after %d failures of %d runs", i+1, 10+i+1)
		}
	}
	if !b.record(true) || !b.open() {
		t.Fatal("10 failures in the last 20 runs must open the circuit")
	}
	if n, wait, _ := b.allow(8); n != 0 || wait != 5*time.Second {
		t.Fatalf("open circuit allows %d, wait %s", n, wait)
	}
	now = now.Add(5 * time.Second)
	if n, _, probe := b.allow(8); n != 1 || !probe {
		t.Fatalf("half-open circuit allows %d, want one probe", n)
	}
	if n, _, _ := b.allow(8); n != 0 {
		t.Fatalf("a second probe while the first runs: %d", n)
	}
	b.record(true) // the probe failed: open again for the delay
	if n, _, _ := b.allow(8); n != 0 || !b.open() {
		t.Fatal("a failed probe must reopen the circuit")
	}
	now = now.Add(5 * time.Second)
	b.allow(1)
	if !b.record(false) || b.open() {
		t.Fatal("a successful probe must close the circuit")
	}
	if n, _, _ := b.allow(8); n != 8 {
		t.Fatalf("closed circuit allows %d", n)
	}
}

func TestBreakerNeedsFailuresWithinTheWindow(t *testing.T) {
	b := newBreaker(10, 20, time.Second, time.Now)
	for i := 0; i < 100; i++ {
		if b.record(i%3 == 0) { // a third fail: never 10 of the last 20
			t.Fatalf("opened at run %d", i)
		}
	}
}
