package sluice

import "sluice.dev/peers/go/sluicepb"

// Fairness keys (PROTOCOL.md §15.3 [v1.3]): the key format a producer enforces and the grant order
// of sends waiting for credits across keys. A worker never validates the key.

// HdrFairnessKey is the optional header carrying a message's fairness key.
const HdrFairnessKey = "Sluice-Fairness-Key"

// MaxFairnessKey is the longest fairness key, in characters.
const MaxFairnessKey = 64

// ValidFairnessKey reports whether k is 1 to 64 characters of [A-Za-z0-9_.:@-].
func ValidFairnessKey(k string) bool {
	if len(k) < 1 || len(k) > MaxFairnessKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		ok := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '.' || c == ':' || c == '@' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

type fairLane[W any] struct {
	key     string
	waiting []W
	weight  int
	deficit int
	active  bool
	granted uint64
}

// FairQueue holds sends waiting for credits in one FIFO lane per key and hands them out in
// weighted max-min fair order: deficit round robin, quantum = the key's weight, cost 1 per send
// (§15.3 step 3). The empty key is the sends without a key. Not safe for concurrent use.
type FairQueue[W any] struct {
	weight func(key string) int
	lanes  map[string]*fairLane[W]
	ring   []*fairLane[W]
	size   int
}

// NewFairQueue returns an empty queue; weight gives a key's weight (values below 1 count as 1).
func NewFairQueue[W any](weight func(key string) int) *FairQueue[W] {
	return &FairQueue[W]{weight: weight, lanes: map[string]*fairLane[W]{}}
}

func (q *FairQueue[W]) lane(key string) *fairLane[W] {
	l, ok := q.lanes[key]
	if !ok {
		w := q.weight(key)
		if w < 1 {
			w = 1
		}
		l = &fairLane[W]{key: key, weight: w}
		q.lanes[key] = l
	}
	return l
}

// Add queues w at the end of key's lane.
func (q *FairQueue[W]) Add(key string, w W) {
	l := q.lane(key)
	l.waiting = append(l.waiting, w)
	q.size++
	if !l.active {
		l.active = true
		q.ring = append(q.ring, l)
	}
}

// Poll takes the next send to grant a credit to; ok is false when none waits.
func (q *FairQueue[W]) Poll() (w W, key string, ok bool) {
	if len(q.ring) == 0 {
		return w, "", false
	}
	l := q.ring[0]
	q.ring = q.ring[1:]
	if l.deficit < 1 {
		l.deficit += l.weight
	}
	l.deficit--
	l.granted++
	q.size--
	w = l.waiting[0]
	l.waiting = l.waiting[1:]
	switch {
	case len(l.waiting) == 0:
		l.deficit = 0
		l.active = false
	case l.deficit >= 1:
		q.ring = append([]*fairLane[W]{l}, q.ring...)
	default:
		q.ring = append(q.ring, l)
	}
	return w, l.key, true
}

// Len is the number of sends waiting in every lane.
func (q *FairQueue[W]) Len() int { return q.size }

// FairnessReport is ProducerReport.fairness_keys for a producer that sends one message at a time,
// all with key ("" for none): the key with weight 1, its sends waiting and its credits granted.
func FairnessReport(key string, waiting uint32, grantedTotal uint64) []*sluicepb.FairnessKeyState {
	if key == "" {
		return nil
	}
	return []*sluicepb.FairnessKeyState{{Key: key, Weight: 1, Waiting: waiting, GrantedTotal: grantedTotal}}
}
