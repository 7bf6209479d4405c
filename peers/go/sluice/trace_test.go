package sluice

import "testing"

func TestNewTraceIDsMakeValidDistinctTraceparents(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		tid, sid := NewTraceID(), NewSpanID()
		if len(tid) != 32 || len(sid) != 16 {
			t.Fatalf("lengths %d and %d", len(tid), len(sid))
		}
		if _, _, ok := ParseTraceparent(Traceparent(tid, sid)); !ok {
			t.Fatalf("invalid traceparent from %s %s", tid, sid)
		}
		if seen[tid] {
			t.Fatalf("trace id %s repeated", tid)
		}
		seen[tid] = true
	}
}

func TestNewTraceparentIsValidWithItsFlags(t *testing.T) {
	for _, flags := range []string{"00", "01"} {
		tp, tid := newTraceparent(flags)
		got, _, ok := ParseTraceparent(tp)
		if !ok || got != tid || tp[53:] != flags {
			t.Fatalf("newTraceparent(%q) = %q, %q: parsed %q %v", flags, tp, tid, got, ok)
		}
		if tp2, _ := newTraceparent(flags); tp2 == tp {
			t.Fatalf("two new traceparents are equal: %s", tp)
		}
	}
}
