package sluice

import "testing"

func TestLatencyCapacity(t *testing.T) {
	cases := []struct {
		conc, max   uint32
		rate, wait  float64
		batch, want uint32
	}{
		{8, 1000, 0, 1, 4, 8 + 8},          // no rate yet: concurrency + 2b'
		{8, 1000, 100, 0.5, 4, 8 + 50 + 8}, // Little's law: 100/s × 0.5 s
		{8, 40, 100, 0.5, 4, 40 + 8},       // bounded by max capacity
		{8, 1000, 0.1, 1, 2, 8 + 1 + 4},    // ceil
	}
	for _, c := range cases {
		if got := LatencyCapacity(c.conc, c.max, c.rate, c.wait, c.batch); got != c.want {
			t.Errorf("LatencyCapacity(%d, %d, %g, %g, %d) = %d, want %d", c.conc, c.max, c.rate, c.wait, c.batch, got, c.want)
		}
	}
}
