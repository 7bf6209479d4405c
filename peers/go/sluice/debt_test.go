package sluice

import (
	"testing"

	"sluice.dev/peers/go/sluicepb"
)

// A worker takes each announcement once and never the one it finds at start (a restarted process
// would otherwise burn its predecessor's share again).
func TestDebtTakesEachAnnouncementOnce(t *testing.T) {
	var d Debt
	ann := func(id int64, share uint64) *sluicepb.ReconcilerLease {
		return &sluicepb.ReconcilerLease{DebtId: id, Debts: map[string]uint64{"go-w1": share}}
	}
	d.Offer(ann(5, 100), "go-w1")
	if p, s := d.State(); p != 0 || s != 5 {
		t.Fatalf("after start: pending %d seen %d", p, s)
	}
	d.Offer(ann(9, 10), "go-w1")
	d.Offer(ann(9, 10), "go-w1")
	if p, _ := d.State(); p != 10 {
		t.Fatalf("pending %d want 10", p)
	}
	if k := d.Withhold(4); k != 4 {
		t.Fatalf("withheld %d want 4", k)
	}
	if k := d.Withhold(32); k != 6 {
		t.Fatalf("withheld %d want 6", k)
	}
	if k := d.Withhold(32); k != 0 {
		t.Fatalf("withheld %d want 0", k)
	}
}
