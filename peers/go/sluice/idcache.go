package sluice

import (
	"sync"
	"time"
)

// idCache is the local idempotency cache (§9): the id-keys of the last max messages acked, each
// remembered for at most ttl. Entries sit in a ring in the order they were added and in a map
// from key to its newest entry; the oldest entry goes when the ring is full. An Add costs a map
// write and a ring slot, with no allocation per entry: it runs once per processed message. A
// linked list ordered by recency (container/list) was rejected: an allocation and a pointer for
// the collector to trace per entry, up to 100,000 of them, for an order that only matters when
// an id is acked twice within the cache's reach, which a duplicate ack does not need.
type idCache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	now   func() time.Time
	ring  []idSlot
	next  int // the ring slot the next entry overwrites once the ring is full
	seq   uint64
	items map[string]idItem
}

// idSlot is a ring entry; it is the key's current entry while items[key].seq equals seq.
type idSlot struct {
	key string
	seq uint64
}

type idItem struct {
	seq uint64
	at  time.Time
}

func newIDCache(max int, ttl time.Duration) *idCache {
	return &idCache{max: max, ttl: ttl, now: time.Now, ring: make([]idSlot, 0, min(max, 1024)),
		items: make(map[string]idItem, min(max, 1024))}
}

// Seen reports whether key was added less than ttl ago and not yet pushed out.
func (c *idCache) Seen(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[key]
	if !ok {
		return false
	}
	if c.now().Sub(it.at) > c.ttl {
		delete(c.items, key)
		return false
	}
	return true
}

// Add remembers key, pushing out the oldest entry when the cache holds max.
func (c *idCache) Add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	slot := idSlot{key: key, seq: c.seq}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, slot)
	} else {
		old := c.ring[c.next]
		if it, ok := c.items[old.key]; ok && it.seq == old.seq {
			delete(c.items, old.key)
		}
		c.ring[c.next] = slot
		c.next = (c.next + 1) % c.max
	}
	c.items[key] = idItem{seq: c.seq, at: c.now()}
}
