package sluice

import (
	"testing"
	"time"
)

func TestBreakerOpensProbesAndCloses(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newBreaker(10, 20, 5*time.Second, func() time.Time { return now })
	for i := 0; i < 10; i++ {
		b.record(false, 0)
	}
	for i := 0; i < 9; i++ {
		if b.record(true, 0) {
			t.Fatalf("opened after %d failures of %d runs", i+1, 10+i+1)
		}
	}
	if !b.record(true, 0) || !b.open() {
		t.Fatal("10 failures in the last 20 runs must open the circuit")
	}
	if n, wait, _ := b.allow(8); n != 0 || wait != 5*time.Second {
		t.Fatalf("open circuit allows %d, wait %s", n, wait)
	}
	now = now.Add(5 * time.Second)
	n, _, probe := b.allow(8)
	if n != 1 || probe == 0 {
		t.Fatalf("half-open circuit allows %d (probe %d), want one probe", n, probe)
	}
	if n, _, _ := b.allow(8); n != 0 {
		t.Fatalf("a second probe while the first runs: %d", n)
	}
	b.record(true, probe) // the probe failed: open again for the delay
	if n, wait, _ := b.allow(8); n != 0 || wait != 5*time.Second || !b.open() {
		t.Fatal("a failed probe must reopen the circuit for the full delay")
	}
	now = now.Add(5 * time.Second)
	_, _, probe = b.allow(1)
	if !b.record(false, probe) || b.open() {
		t.Fatal("a successful probe must close the circuit")
	}
	if n, _, _ := b.allow(8); n != 8 {
		t.Fatalf("closed circuit allows %d", n)
	}
}

func TestBreakerNeedsFailuresWithinTheWindow(t *testing.T) {
	b := newBreaker(10, 20, time.Second, time.Now)
	for i := 0; i < 100; i++ {
		if b.record(i%3 == 0, 0) { // a third fail: never 10 of the last 20
			t.Fatalf("opened at run %d", i)
		}
	}
}

// halfOpen returns a breaker (1 of 1, 5 s) whose circuit opened and whose delay has passed, and
// its clock.
func halfOpen(t *testing.T) (*breaker, *time.Time) {
	now := time.Unix(1000, 0)
	b := newBreaker(1, 1, 5*time.Second, func() time.Time { return now })
	if !b.record(true, 0) {
		t.Fatal("one failure of one must open the circuit")
	}
	now = now.Add(5 * time.Second)
	return b, &now
}

// §7.6 3.: a probe pull that expires empty closes the circuit, with a fresh window.
func TestBreakerEmptyProbeCloses(t *testing.T) {
	b, _ := halfOpen(t)
	_, _, probe := b.allow(4)
	if !b.probeEmpty(probe) || b.open() {
		t.Fatal("an empty probe pull must close the circuit")
	}
	if n, _, p := b.allow(4); n != 4 || p != 0 {
		t.Fatalf("closed circuit allows %d (probe %d)", n, p)
	}
	if b.probeEmpty(probe) {
		t.Fatal("an ended probe must not close anything again")
	}
}

// §7.6 2.: a probe settled without a counted run ends with no verdict; the next pull probes.
func TestBreakerProbeSettledWithoutARunLetsTheNextThrough(t *testing.T) {
	b, _ := halfOpen(t)
	_, _, first := b.allow(4)
	b.probeEnded(first)
	if !b.open() {
		t.Fatal("a probe without a verdict must not close the circuit")
	}
	n, _, second := b.allow(4)
	if n != 1 || second == 0 || second == first {
		t.Fatalf("after a probe without a verdict: %d (probe %d), want a new probe", n, second)
	}
	if !b.record(false, second) || b.open() {
		t.Fatal("the new probe's success must close the circuit")
	}
}

// Only the probe's run decides: a run that started before the circuit opened neither closes nor
// reopens it.
func TestBreakerRunsThatAreNotTheProbeDecideNothing(t *testing.T) {
	b, _ := halfOpen(t)
	_, _, probe := b.allow(1)
	if b.record(false, 0) || !b.open() {
		t.Fatal("a success that is not the probe closed the circuit")
	}
	b.record(true, 0)
	if n, wait, _ := b.allow(1); n != 0 || wait != 50*time.Millisecond {
		t.Fatalf("after a failure that is not the probe: %d, wait %s; want still half-open, probing", n, wait)
	}
	if !b.record(false, probe) || b.open() {
		t.Fatal("the probe's success must close the circuit")
	}
}

// A probe that ends late (its handler goroutine finishes after a newer probe began) does not end
// the newer one.
func TestBreakerAnOldProbeEndingDoesNotEndTheNext(t *testing.T) {
	b, now := halfOpen(t)
	_, _, first := b.allow(1)
	b.record(true, first) // failed: open again
	*now = now.Add(5 * time.Second)
	_, _, second := b.allow(1)
	b.probeEnded(first)
	if b.probeEmpty(first) {
		t.Fatal("an old probe closed the circuit")
	}
	if n, _, _ := b.allow(1); n != 0 {
		t.Fatal("an old probe's end let a second probe through")
	}
	if !b.probeEmpty(second) {
		t.Fatal("the current probe's empty pull must close the circuit")
	}
}
