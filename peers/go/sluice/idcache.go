package sluice

import (
	"container/list"
	"sync"
	"time"
)

// idCache is the local idempotency cache (§9): bounded, entries expire after ttl.
type idCache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	order *list.List
	items map[string]*list.Element
}

type idEntry struct {
	key string
	at  time.Time
}

func newIDCache(max int, ttl time.Duration) *idCache {
	return &idCache{max: max, ttl: ttl, order: list.New(), items: map[string]*list.Element{}}
}

func (c *idCache) Seen(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return false
	}
	if time.Since(e.Value.(*idEntry).at) > c.ttl {
		c.order.Remove(e)
		delete(c.items, key)
		return false
	}
	return true
}

func (c *idCache) Add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.Remove(e)
	}
	c.items[key] = c.order.PushBack(&idEntry{key: key, at: time.Now()})
	for c.order.Len() > c.max {
		old := c.order.Front()
		c.order.Remove(old)
		delete(c.items, old.Value.(*idEntry).key)
	}
}
