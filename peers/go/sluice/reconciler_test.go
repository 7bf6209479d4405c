package sluice

import (
	"testing"

	"sluice.dev/peers/go/sluicepb"
)

func TestShareDebtByCapacityLargestRemainderFirst(t *testing.T) {
	ad := func(id string, capacity uint32) *sluicepb.CapacityAdvert {
		return &sluicepb.CapacityAdvert{WorkerId: id, Capacity: capacity}
	}
	cases := []struct {
		amount  int64
		adverts []*sluicepb.CapacityAdvert
		want    map[string]uint64
	}{
		// 10 by 1:1:2 → 2.5, 2.5, 5: the remainders tie, the smaller id takes the extra credit.
		{10, []*sluicepb.CapacityAdvert{ad("b", 4), ad("a", 4), ad("c", 8)}, map[string]uint64{"a": 3, "b": 2, "c": 5}},
		// All capacities 0: equal shares.
		{5, []*sluicepb.CapacityAdvert{ad("x", 0), ad("y", 0)}, map[string]uint64{"x": 3, "y": 2}},
		// 7 by 1:2 → 2.33, 4.67: the larger remainder takes it.
		{7, []*sluicepb.CapacityAdvert{ad("p", 1), ad("q", 2)}, map[string]uint64{"p": 2, "q": 5}},
	}
	for _, c := range cases {
		got := shareDebt(c.amount, c.adverts)
		var sum uint64
		for id, n := range c.want {
			if got[id] != n {
				t.Errorf("shareDebt(%d): %v, want %v", c.amount, got, c.want)
				break
			}
			sum += got[id]
		}
		if sum != uint64(c.amount) {
			t.Errorf("shares of %d sum to %d", c.amount, sum)
		}
	}
}
