package sluice

import (
	"strconv"
	"testing"
	"time"
)

func TestIDCacheEvictsTheOldestAtItsSize(t *testing.T) {
	c := newIDCache(3, time.Hour)
	for i := 1; i <= 4; i++ {
		c.Add("m-" + strconv.Itoa(i))
	}
	if c.Seen("m-1") {
		t.Error("m-1 is still cached after 4 adds to a cache of 3")
	}
	for i := 2; i <= 4; i++ {
		if !c.Seen("m-" + strconv.Itoa(i)) {
			t.Errorf("m-%d is not cached", i)
		}
	}
}

func TestIDCacheKeepsAKeyAddedAgain(t *testing.T) {
	c := newIDCache(2, time.Hour)
	c.Add("a")
	c.Add("b")
	c.Add("a") // pushes out the first entry of a, not a itself
	if !c.Seen("a") {
		t.Error("a, added again, was pushed out with its older entry")
	}
	if !c.Seen("b") {
		t.Error("b is not cached")
	}
	c.Add("c")
	if c.Seen("b") {
		t.Error("b is still cached after a and c were added")
	}
	if !c.Seen("a") || !c.Seen("c") {
		t.Error("a or c is not cached")
	}
	if len(c.items) > 2 {
		t.Errorf("the cache holds %d keys, more than its size 2", len(c.items))
	}
}

func TestIDCacheForgetsAfterTheTTL(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newIDCache(10, time.Minute)
	c.now = func() time.Time { return now }
	c.Add("a")
	now = now.Add(time.Minute)
	if !c.Seen("a") {
		t.Error("a is not cached at exactly the ttl")
	}
	now = now.Add(time.Millisecond)
	if c.Seen("a") {
		t.Error("a is still cached after the ttl")
	}
}

func TestIDCacheTellsKeysApart(t *testing.T) {
	c := newIDCache(1000, time.Hour)
	for i := 0; i < 1000; i += 2 {
		c.Add("m-" + strconv.Itoa(i))
	}
	for i := 0; i < 1000; i++ {
		if got := c.Seen("m-" + strconv.Itoa(i)); got != (i%2 == 0) {
			t.Fatalf("Seen(m-%d) = %v", i, got)
		}
	}
}
