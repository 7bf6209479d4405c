package sluice

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluicepb"
)

// fleetView follows the capacity adverts of the other workers of a queue (KV watch on
// sluice-capacity keys <q>.*), for §4.2 (a decliner dead-letters after the grace period only
// when no other live advert handles the message) and §7.2 step 3 (mixed fleet).
type fleetView struct {
	mu      sync.Mutex
	adverts map[string]*sluicepb.CapacityAdvert
	own     string
}

func newFleetView(q, workerID string) *fleetView {
	return &fleetView{adverts: map[string]*sluicepb.CapacityAdvert{}, own: CapacityKey(q, workerID)}
}

// watch keeps the view current until ctx ends, re-creating the watcher after an error.
func (f *fleetView) watch(ctx context.Context, kv jetstream.KeyValue, q string, log *slog.Logger) {
	for ctx.Err() == nil {
		w, err := kv.Watch(ctx, q+".*")
		if err != nil {
			log.Warn("fleet view: watching adverts failed", "filter", q+".*", "err", err)
		} else {
			f.follow(ctx, w)
			_ = w.Stop()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (f *fleetView) follow(ctx context.Context, w jetstream.KeyWatcher) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil || e.Key() == f.own {
				continue // nil marks the end of the initial values
			}
			f.mu.Lock()
			if e.Operation() != jetstream.KeyValuePut {
				delete(f.adverts, e.Key())
			} else if a, err := DecodeAdvert(e.Value()); err == nil {
				f.adverts[e.Key()] = a
			}
			f.mu.Unlock()
		}
	}
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
