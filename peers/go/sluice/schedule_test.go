package sluice

import (
	"testing"
	"time"
)

// The same encoding the Java library uses (ScheduleRulesTest): ids with '.', '*' and '>' stay one
// subject token.
func TestScheduleSubjectIsOneBase64urlToken(t *testing.T) {
	if got := ScheduleSubject("orders", "a.b*>"); got != "sluice.sched.orders.YS5iKj4" {
		t.Fatalf("ScheduleSubject = %q", got)
	}
	if got := ScheduleEntryMsgID("m1", 5000); got != "sched-5000-m1" {
		t.Fatalf("ScheduleEntryMsgID = %q", got)
	}
}

func TestDueAtClampsThePastAndRefusesTooFar(t *testing.T) {
	now := time.UnixMilli(1_000)
	if d, ok := DueAt(time.UnixMilli(5), now); !ok || !d.Equal(now) {
		t.Fatalf("a past time must be due now, got %v %v", d, ok)
	}
	if _, ok := DueAt(now.Add(MaxScheduleDelay+time.Millisecond), now); ok {
		t.Fatal("a time beyond the maximum delay must be refused")
	}
}
