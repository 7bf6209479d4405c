package main

import (
	"reflect"
	"testing"
)

// The decomposition takes each round's difference, then the median over the rounds, and leaves
// out the figures whose pipelines did not both run.
func TestDecomposeMediansTheRoundsDifferences(t *testing.T) {
	r := func(go_, server, thr float64) result {
		return result{CPUGoUs: go_, CPUServerUs: server, CPUUsPerMsg: go_ + server, Throughput: thr}
	}
	rounds := []map[string]result{
		{"raw": r(20, 20, 100), "raw-wire": r(22, 23, 90), "sluice": r(30, 30, 60)},
		{"raw": r(30, 30, 100), "raw-wire": r(31, 31, 80), "sluice": r(40, 40, 70)},
		{"raw": r(25, 25, 100), "raw-wire": r(29, 27, 85), "sluice": r(35, 35, 80)},
	}
	got := decompose(rounds)
	for key, want := range map[string]float64{
		"wire_overhead_us_per_msg":           5,    // 5, 2, 6
		"wire_overhead_go_us_per_msg":        2,    // 2, 1, 4
		"wire_overhead_server_us_per_msg":    2,    // 3, 1, 2
		"implementation_overhead_us_per_msg": 15,   // 15, 18, 14
		"wire_ratio":                         0.85, // 0.9, 0.8, 0.85
		"sluice_wire_ratio":                  0.88, // 0.67, 0.875, 0.94
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	for _, key := range []string{"compact_saving_us_per_msg", "bound_overhead_us_per_msg", "id_overhead_us_per_msg"} {
		if _, ok := got[key]; ok {
			t.Errorf("%s present without its pipelines", key)
		}
	}
	if decompose([]map[string]result{{"sluice": r(1, 1, 1)}}) != nil {
		t.Error("a decomposition from sluice alone")
	}
}

func TestSelectPipelinesKeepsTheRoundOrder(t *testing.T) {
	got, err := selectPipelines("sluice, raw,raw-bounded")
	if err != nil || !reflect.DeepEqual(got, []string{"raw", "raw-bounded", "sluice"}) {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := selectPipelines("raw,raw-fast"); err == nil {
		t.Error("an unknown pipeline was accepted")
	}
	if _, err := selectPipelines(" ,"); err == nil {
		t.Error("no pipeline was accepted")
	}
}
