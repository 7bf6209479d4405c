package sluice

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"sluice.dev/peers/go/sluicepb"
)

// advertsWait bounds how long a send waits for the view's initial values, or for a one-shot read
// of the adverts while the view's watch is down.
const advertsWait = 2 * time.Second

// advertsNow returns the queue's capacity adverts for a decision taken now: the producer's view
// of the bucket while its watch follows it (the server sends every change, so the view is as
// fresh as a read), waiting for the watch's initial values first (until ctx ends, at most 2 s);
// else a one-shot read, reused for at most 1 s (§4.3). The adverts are not filtered for liveness,
// which the caller judges at the moment of use; the slice is shared and read-only.
func (p *Producer) advertsNow(ctx context.Context) ([]*sluicepb.CapacityAdvert, error) {
	if ads, ok := p.fleet.synced(); ok {
		return ads, nil
	}
	wctx, cancel := context.WithTimeout(ctx, advertsWait)
	ads, ok := p.fleet.current(wctx)
	cancel()
	if ok {
		return ads, nil
	}
	p.vmu.Lock()
	defer p.vmu.Unlock()
	if time.Since(p.advertsAt) > time.Second {
		rctx, cancel := context.WithTimeout(ctx, advertsWait)
		ads, err := liveAdverts(rctx, p.capKV, p.queue)
		cancel()
		if err != nil {
			return nil, err
		}
		p.adverts, p.advertsAt = ads, time.Now()
	}
	return p.adverts, nil
}

// CheckVersion applies the producer's version policy (§4.3) to typ at version against the live
// workers' adverts (followed through a watch of the capacity bucket): a *VersionError when no
// live worker handles it under VersionFail, nil otherwise (also when no worker is live). Send
// calls it.
func (p *Producer) CheckVersion(ctx context.Context, typ string, version int) error {
	return p.checkVersion(ctx, typ, version)
}

// checkVersion applies the version policy against the live adverts (§4.3).
func (p *Producer) checkVersion(ctx context.Context, typ string, version int) error {
	if p.cfg.versionPolicy == VersionAllow {
		return nil
	}
	ads, err := p.advertsNow(ctx)
	if err != nil {
		return nil // nothing to check against
	}
	now := time.Now().UnixMilli()
	live := 0
	for _, a := range ads {
		if !View(a).Live(now) {
			continue
		}
		live++
		for _, h := range a.GetHandled() {
			if h.GetType() == typ && int(h.GetMinVersion()) <= version && version <= int(h.GetMaxVersion()) {
				return nil
			}
		}
	}
	if live == 0 {
		return nil
	}
	var handled []string
	for _, a := range ads {
		if View(a).Live(now) {
			for _, h := range a.GetHandled() {
				handled = append(handled, fmt.Sprintf("%s@%d-%d", h.GetType(), h.GetMinVersion(), h.GetMaxVersion()))
			}
		}
	}
	err = &VersionError{Queue: p.queue, Type: typ, Version: version, Handled: handled}
	if p.cfg.versionPolicy == VersionWarn {
		key := typ + "@" + strconv.Itoa(version)
		p.vmu.Lock()
		first := !p.warned[key]
		p.warned[key] = true
		p.vmu.Unlock()
		if first {
			p.cfg.log.Warn(err.Error(), "producer", p.cfg.id)
		}
		return nil
	}
	return err
}

// liveAdvertsNow returns the live adverts of advertsNow at this moment.
func (p *Producer) liveAdvertsNow(ctx context.Context) ([]*sluicepb.CapacityAdvert, error) {
	ads, err := p.advertsNow(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixMilli()
	var out []*sluicepb.CapacityAdvert
	for _, a := range ads {
		if View(a).Live(now) {
			out = append(out, a)
		}
	}
	return out, nil
}
