package sluice

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluicepb"
)

// fleetView follows the capacity adverts of a queue with one KV watch on sluice-capacity keys
// <q>.* for the life of its owner. A worker reads it for §4.2 (a decliner dead-letters after the
// grace period only when no other live advert handles the message), §7.2 step 3 (mixed fleet)
// and §15.2 (rate shares); a producer for §4.3 (version check) and §6 step 8 (timeout reason).
// Liveness is judged by the reader at the moment of use; a deleted or purged key leaves the view.
type fleetView struct {
	mu      sync.Mutex
	adverts map[string]*sluicepb.CapacityAdvert
	list    []*sluicepb.CapacityAdvert // adverts as a slice, rebuilt after a change; never mutated
	dirty   bool
	own     string // the owner's own key, left out of the view ("" for a producer)
	// syncedCh is closed once the running watch has delivered its initial values, and replaced by
	// an open channel when that watch ends; down is set while no watch follows the bucket (the
	// last one ended or could not be created) until the next one is created.
	syncedCh chan struct{}
	ready    bool // syncedCh is closed
	down     bool
}

func newFleetView(q, ownID string) *fleetView {
	own := ""
	if ownID != "" {
		own = CapacityKey(q, ownID)
	}
	return &fleetView{adverts: map[string]*sluicepb.CapacityAdvert{}, own: own, syncedCh: make(chan struct{})}
}

// watch keeps the view current until ctx ends, re-creating the watcher after an error.
func (f *fleetView) watch(ctx context.Context, kv jetstream.KeyValue, q string, log *slog.Logger) {
	for ctx.Err() == nil {
		w, err := kv.Watch(ctx, q+".*")
		if err != nil {
			log.Warn("fleet view: watching adverts failed", "filter", q+".*", "err", err)
		} else {
			f.setDown(false)
			f.follow(ctx, w)
			_ = w.Stop()
		}
		f.setDown(true)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// setDown records whether a watch follows the bucket; a watch that ends leaves the view unsynced.
func (f *fleetView) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
	if down && f.ready {
		f.syncedCh, f.ready = make(chan struct{}), false
	}
}

// follow applies a watcher's entries. The initial values build a new map that replaces the view
// at the nil marker, so keys removed while no watch ran (expired from the stream) leave it too.
func (f *fleetView) follow(ctx context.Context, w jetstream.KeyWatcher) {
	initial := map[string]*sluicepb.CapacityAdvert{}
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			f.mu.Lock()
			switch {
			case e == nil: // the end of the initial values
				if initial != nil {
					f.adverts, f.dirty, initial = initial, true, nil
					close(f.syncedCh)
					f.ready = true
				}
			case e.Key() == f.own:
			default:
				m := f.adverts
				if initial != nil {
					m = initial
				}
				if e.Operation() != jetstream.KeyValuePut {
					delete(m, e.Key())
				} else if a, err := DecodeAdvert(e.Value()); err == nil {
					m[e.Key()] = a
				}
				f.dirty = f.dirty || initial == nil
			}
			f.mu.Unlock()
		}
	}
}

// snapshotLocked returns the adverts the view holds; the slice is shared and read-only. f.mu is held.
func (f *fleetView) snapshotLocked() []*sluicepb.CapacityAdvert {
	if f.dirty {
		f.list = make([]*sluicepb.CapacityAdvert, 0, len(f.adverts))
		for _, a := range f.adverts {
			f.list = append(f.list, a)
		}
		f.dirty = false
	}
	return f.list
}

// synced returns the adverts the view holds when a watch follows the bucket and has delivered
// its initial values; ok is false otherwise.
func (f *fleetView) synced() (ads []*sluicepb.CapacityAdvert, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ready {
		return nil, false
	}
	return f.snapshotLocked(), true
}

// current returns the adverts the view holds (live or not: the caller judges liveness) when a
// watch follows the bucket, after waiting, until ctx ends, for its initial values. ok is false
// when no watch follows the bucket, or ctx ended first: the caller reads the bucket itself.
func (f *fleetView) current(ctx context.Context) (ads []*sluicepb.CapacityAdvert, ok bool) {
	f.mu.Lock()
	if f.ready {
		defer f.mu.Unlock()
		return f.snapshotLocked(), true
	}
	synced, down := f.syncedCh, f.down
	f.mu.Unlock()
	if down {
		return nil, false
	}
	select {
	case <-synced:
	case <-ctx.Done():
		return nil, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ready {
		return nil, false
	}
	return f.snapshotLocked(), true
}

// advertHandles: the advert lists the type and version, at a protocol it implements.
func advertHandles(a *sluicepb.CapacityAdvert, hc HeaderCheck) bool {
	if int(max(a.GetProtocolVersion(), 1)) < hc.Protocol {
		return false
	}
	for _, h := range a.GetHandled() {
		if h.GetType() == hc.Type && int(h.GetMinVersion()) <= hc.Version && hc.Version <= int(h.GetMaxVersion()) {
			return true
		}
	}
	return false
}

// count returns how many other live adverts (any state) handle the delivery, and how many do not.
func (f *fleetView) count(hc HeaderCheck) (handle, decline int) {
	now := time.Now().UnixMilli()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.adverts {
		if a.GetHeartbeatUnixMs()+int64(a.GetTtlMs()) < now {
			continue
		}
		if advertHandles(a, hc) {
			handle++
		} else {
			decline++
		}
	}
	return
}

func (f *fleetView) handles(hc HeaderCheck) bool  { h, _ := f.count(hc); return h > 0 }
func (f *fleetView) declines(hc HeaderCheck) bool { _, d := f.count(hc); return d > 0 }
