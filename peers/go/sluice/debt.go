package sluice

import (
	"sync"

	"sluice.dev/peers/go/sluicepb"
)

// Debt is the credits a worker withholds from its replenishment to burn a surplus the reconciler
// announced (§5.5 fast burn [v1.1]). Safe for concurrent use.
type Debt struct {
	mu       sync.Mutex
	readOne  bool
	seen     int64
	pending  uint64
	withheld uint64
}

// Offer takes workerID's share of an announcement in lease that it has not taken yet. The first
// lease read only sets where the worker starts: an earlier announcement was made to an earlier
// process with the same id, or to none.
func (d *Debt) Offer(lease *sluicepb.ReconcilerLease, workerID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := lease.GetDebtId()
	if !d.readOne {
		d.readOne, d.seen = true, id
		return
	}
	if id > d.seen {
		d.pending += lease.GetDebts()[workerID]
		d.seen = id
	}
}

// Withhold returns how many of n credits about to be minted to withhold (burn) instead.
func (d *Debt) Withhold(n uint64) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := n
	if d.pending < k {
		k = d.pending
	}
	d.pending -= k
	d.withheld += k
	return k
}

// State returns the credits still to withhold and the newest announcement id read.
func (d *Debt) State() (pending uint64, seen int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending, d.seen
}
