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
