package sluice

import (
	"math"
	"testing"
	"time"
)

// The rate_limit section of credits.json (PROTOCOL.md §15.2 [v1.3]).
func TestRateLimitVectors(t *testing.T) {
	var doc struct {
		RateLimit struct {
			Share []struct {
				Name   string   `json:"name"`
				Rate   float64  `json:"rate"`
				Own    uint64   `json:"own_capacity"`
				Others []uint64 `json:"other_capacities"`
				Share  float64  `json:"share"`
			} `json:"share"`
			Window []struct {
				Window     uint64  `json:"window"`
				Rate       float64 `json:"rate"`
				Burst      uint64  `json:"burst"`
				Live       int     `json:"live_workers"`
				Pacing     int64   `json:"pacing"`
				RateWindow uint64  `json:"rate_window"`
			} `json:"window"`
			Bucket []struct {
				Name  string  `json:"name"`
				Share float64 `json:"share"`
				Steps []struct {
					AtMs    int64  `json:"at_ms"`
					Wanted  uint32 `json:"wanted"`
					Owed    uint32 `json:"owed"`
					Allowed uint32 `json:"allowed"`
				} `json:"steps"`
			} `json:"bucket"`
		} `json:"rate_limit"`
	}
	load(t, "credits.json", &doc)
	v := doc.RateLimit
	if len(v.Share) == 0 || len(v.Window) == 0 || len(v.Bucket) == 0 {
		t.Fatal("a rate_limit section is empty")
	}
	for _, c := range v.Share {
		total := c.Own
		for _, o := range c.Others {
			total += o
		}
		if got := RateShare(c.Rate, c.Own, total); math.Abs(got-c.Share) > math.Abs(c.Share)*1e-9+1e-12 {
			t.Errorf("%s: share %v, want %v", c.Name, got, c.Share)
		}
	}
	for _, c := range v.Window {
		if RateLimited(c.Rate) {
			if got := RatePacing(c.Rate, c.Live); got != c.Pacing {
				t.Errorf("%+v: pacing %d", c, got)
			}
		}
		if got := RateWindow(c.Window, c.Rate, c.Burst, c.Live); got != c.RateWindow {
			t.Errorf("%+v: window %d", c, got)
		}
	}
	for _, c := range v.Bucket {
		var b RateBucket
		t0 := time.Unix(1700000000, 0)
		b.Configure(1000, 100, c.Share, t0)
		for _, s := range c.Steps {
			if got := b.Allow(s.Wanted, s.Owed, t0.Add(time.Duration(s.AtMs)*time.Millisecond)); got != s.Allowed {
				t.Errorf("%s at %d ms: allowed %d, want %d", c.Name, s.AtMs, got, s.Allowed)
			}
		}
	}
}

func TestRateBucketOffLetsEverythingThrough(t *testing.T) {
	var b RateBucket
	if got := b.Allow(1000, 1000, time.Now()); got != 1000 {
		t.Fatalf("allowed %d", got)
	}
}
