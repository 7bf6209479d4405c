package sluice

import (
	"hash/maphash"
	"sync"
	"time"
)

// idCache is the local idempotency cache (§9): the id-keys of the last max messages acked, each
// remembered for at most ttl. It runs twice per processed message (a check, an add) and holds up
// to 100,000 entries by default, so it holds no pointers: an entry is a 128-bit fingerprint of the
// key (two maphash values with independent random seeds) and the time it was added, in a ring
// in the order added; a map from the first 64 bits to the ring slot finds it. The garbage
// collector never scans it, and an add allocates nothing. A string-keyed map with a linked list
// was rejected: the collector traced every entry's pointers on every cycle, and the map's string
// hashing and comparisons cost several times more.
//
// Two different keys that share the first 64 bits replace each other (the older is forgotten
// early: its redelivery runs the handler, as after the ttl); Seen compares all 128 bits, so a key
// is never taken for another one that was processed. Distinct keys with the same 128 bits
// (odds about n²/2¹²⁹) are the one way to report a message seen that was not.
type idCache struct {
	mu           sync.Mutex
	max          int
	ttl          time.Duration
	now          func() time.Time
	born         time.Time
	seed1, seed2 maphash.Seed
	ring         []idSlot
	next         int // the ring slot the next entry overwrites once the ring is full
	items        map[uint64]uint32
}

type idSlot struct {
	h1, h2 uint64
	at     time.Duration // since born
}

func newIDCache(max int, ttl time.Duration) *idCache {
	c := &idCache{max: max, ttl: ttl, now: time.Now, seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(),
		ring: make([]idSlot, 0, min(max, 1024)), items: make(map[uint64]uint32, min(max, 1024))}
	c.born = c.now()
	return c
}

// Seen reports whether key was added less than ttl ago and not yet pushed out.
func (c *idCache) Seen(key string) bool {
	h1 := maphash.String(c.seed1, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.items[h1]
	if !ok {
		return false
	}
	s := c.ring[i]
	if s.h2 != maphash.String(c.seed2, key) {
		return false
	}
	if c.now().Sub(c.born)-s.at > c.ttl {
		delete(c.items, h1)
		return false
	}
	return true
}

// Add remembers key, pushing out the oldest entry when the cache holds max.
func (c *idCache) Add(key string) {
	slot := idSlot{h1: maphash.String(c.seed1, key), h2: maphash.String(c.seed2, key)}
	c.mu.Lock()
	defer c.mu.Unlock()
	slot.at = c.now().Sub(c.born)
	var i int
	if len(c.ring) < c.max {
		i = len(c.ring)
		c.ring = append(c.ring, slot)
	} else {
		i = c.next
		if j, ok := c.items[c.ring[i].h1]; ok && int(j) == i {
			delete(c.items, c.ring[i].h1)
		}
		c.ring[i] = slot
		c.next = (c.next + 1) % c.max
	}
	c.items[slot.h1] = uint32(i)
}
