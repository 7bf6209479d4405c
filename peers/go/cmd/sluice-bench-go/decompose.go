package main

import "sort"

// The decomposition of a workload's cost per message into the wire floor and the library's own
// work, from the passes of each round (a round runs every pipeline back to back, so the
// difference within a round compares passes under the same load; each figure is the median of
// the rounds' differences or ratios).
//
//	wire_overhead           = raw-wire − raw         what Sluice's header block costs on this wire
//	compact_saving          = raw-wire − raw-compact what one combined header would save
//	implementation_overhead = sluice − raw-wire      the library's own work on the same bytes
//	bound_overhead          = raw-bounded − raw-wire the same bytes held to the window, no credits
//	credit_overhead         = sluice − raw-bounded   the library's work beyond a local bound
//	fetch_overhead          = raw-fetch − raw-bounded consuming by Fetch as the worker does (only with raw-fetch)
//	id_overhead             = raw − raw-noid         de-duplication (only with --pipelines raw-noid,...)
//
// each as _us_per_msg (bench process + server), _go_us_per_msg, _server_us_per_msg and
// _allocs_per_msg; and throughput and CPU ratios: wire_ratio (raw-wire / raw), compact_ratio
// (raw-compact / raw), sluice_wire_ratio (sluice / raw-wire), bounded_ratio (raw-bounded / raw),
// sluice_bounded_ratio (sluice / raw-bounded), with _cpu_ratio likewise.

// differences are the figures subtracted: name → the two pipelines (minuend, subtrahend).
var differences = []struct{ name, a, b string }{
	{"wire_overhead", "raw-wire", "raw"},
	{"compact_saving", "raw-wire", "raw-compact"},
	{"implementation_overhead", "sluice", "raw-wire"},
	{"bound_overhead", "raw-bounded", "raw-wire"},
	{"credit_overhead", "sluice", "raw-bounded"},
	{"fetch_overhead", "raw-fetch", "raw-bounded"},
	{"id_overhead", "raw", "raw-noid"},
}

// ratios are the throughput and CPU ratios reported: name → (numerator, denominator).
var ratios = []struct{ name, a, b string }{
	{"wire_ratio", "raw-wire", "raw"},
	{"compact_ratio", "raw-compact", "raw"},
	{"sluice_wire_ratio", "sluice", "raw-wire"},
	{"bounded_ratio", "raw-bounded", "raw"},
	{"sluice_bounded_ratio", "sluice", "raw-bounded"},
}

// decompose returns the figures above for which both pipelines ran, from rounds (each round's
// results by pipeline name); nil when there are none.
func decompose(rounds []map[string]result) map[string]float64 {
	out := map[string]float64{}
	each := func(a, b string, f func(x, y result) float64) []float64 {
		var v []float64
		for _, r := range rounds {
			x, okx := r[a]
			y, oky := r[b]
			if okx && oky {
				v = append(v, f(x, y))
			}
		}
		return v
	}
	put := func(key string, v []float64) {
		if len(v) > 0 {
			out[key] = round(medianOf(v))
		}
	}
	for _, d := range differences {
		put(d.name+"_us_per_msg", each(d.a, d.b, func(x, y result) float64 { return x.CPUUsPerMsg - y.CPUUsPerMsg }))
		put(d.name+"_go_us_per_msg", each(d.a, d.b, func(x, y result) float64 { return x.CPUGoUs - y.CPUGoUs }))
		put(d.name+"_server_us_per_msg", each(d.a, d.b, func(x, y result) float64 { return x.CPUServerUs - y.CPUServerUs }))
		put(d.name+"_allocs_per_msg", each(d.a, d.b, func(x, y result) float64 { return x.Allocs - y.Allocs }))
	}
	for _, q := range ratios {
		put(q.name, each(q.a, q.b, func(x, y result) float64 { return safeDiv(x.Throughput, y.Throughput) }))
		put(q.name[:len(q.name)-len("ratio")]+"cpu_ratio", each(q.a, q.b, func(x, y result) float64 { return safeDiv(x.CPUUsPerMsg, y.CPUUsPerMsg) }))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func safeDiv(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// medianOf returns the median of v (the upper one of an even count), leaving v as it was.
func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
