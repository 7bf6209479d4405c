// Command sluice-bench-go compares the Go library's pipeline (sluice.Producer and sluice.Worker)
// with a raw nats.go pipeline (JetStream publish, pull consumer, ack) on the same nats-server in
// the same run, with fast workers (no-op handlers) and slow ones (1 ms handlers), and reports
// throughput, backlog and CPU per message from /proc for this process and the server. Beside
// them run the wire floor's pipelines (floor.go): raw carrying Sluice's header block (raw-wire)
// and a compact one (raw-compact), and raw-wire held to the window by a local bound
// (raw-bounded), whose differences split Sluice's cost into the wire's, the bound's and the
// library's (decompose.go). scripts/bench go runs it on a server of its own.
//
//	sluice-bench-go --server URL --server-pid PID [--duration 5s] [--warmup 1s] [--rounds 1] [--json]
//	                [--only fast,slow] [--pipelines raw,raw-wire,raw-compact,raw-bounded,sluice] [--cpuprofile FILE]
//	                [--memprofile FILE] [--token-batch N] [--producer-prefetch N]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

// workload is one of the two scenarios.
type workload struct {
	Name        string
	Work        time.Duration // handler duration
	Handlers    int           // concurrent handlers
	InFlight    int           // sends in flight (producer goroutines)
	Window      uint32        // the worker's advertised capacity
	Prefetch    int           // the worker's messages in hand beyond its handlers
	TokenBatch  uint32
	PayloadSize int
}

// The workloads of the Java benchmarks (docs/BENCHMARKS.md): credit-overhead and slow-workers.
// Window = concurrency + prefetch, the static capacity.
var (
	fast = workload{Name: "fast", Work: 0, Handlers: 8, InFlight: 512, Window: 1024, Prefetch: 1016, TokenBatch: 64, PayloadSize: 128}
	slow = workload{Name: "slow", Work: time.Millisecond, Handlers: 8, InFlight: 64, Window: 192, Prefetch: 184, TokenBatch: 32, PayloadSize: 128}
)

// result is one pass's figures.
type result struct {
	Throughput    float64 `json:"throughput"`
	CPUUsPerMsg   float64 `json:"cpu_us_per_msg"`
	CPUGoUs       float64 `json:"cpu_go_us_per_msg"`
	CPUServerUs   float64 `json:"cpu_server_us_per_msg"`
	AllocBytes    float64 `json:"alloc_bytes_per_msg"` // this process's heap allocation per message
	Allocs        float64 `json:"allocs_per_msg"`
	Handled       int64   `json:"handled"`
	MaxBacklog    uint64  `json:"max_backlog"`
	Window        uint32  `json:"window,omitempty"`
	Slack         uint32  `json:"slack,omitempty"`
	CreditWaitMax float64 `json:"max_credit_wait_ms,omitempty"`
}

// comparison is a workload's figures: each pipeline's medians, Sluice against raw, and the
// decomposition (decompose.go) when the floor pipelines ran.
type comparison struct {
	Raw        result             `json:"raw"`
	Sluice     result             `json:"sluice"`
	Ratio      float64            `json:"ratio"`
	CPURatio   float64            `json:"cpu_ratio"`
	RawNoID    *result            `json:"raw_noid,omitempty"`
	RawWire    *result            `json:"raw_wire,omitempty"`
	RawCompact *result            `json:"raw_compact,omitempty"`
	RawBounded *result            `json:"raw_bounded,omitempty"`
	RawFetch   *result            `json:"raw_fetch,omitempty"`
	Floor      map[string]float64 `json:"floor,omitempty"`
}

// compare takes the medians of the rounds' passes, pipeline by pipeline.
func compare(rounds []map[string]result) comparison {
	var c comparison
	of := func(name string) *result {
		var rs []result
		for _, r := range rounds {
			if x, ok := r[name]; ok {
				rs = append(rs, x)
			}
		}
		if len(rs) == 0 {
			return nil
		}
		m := median(rs)
		return &m
	}
	if r := of("raw"); r != nil {
		c.Raw = *r
	}
	if r := of("sluice"); r != nil {
		c.Sluice = *r
	}
	c.RawNoID, c.RawWire, c.RawCompact, c.RawBounded = of("raw-noid"), of("raw-wire"), of("raw-compact"), of("raw-bounded")
	c.RawFetch = of("raw-fetch")
	if c.Raw.Throughput > 0 {
		c.Ratio = round(c.Sluice.Throughput / c.Raw.Throughput)
	}
	if c.Raw.CPUUsPerMsg > 0 {
		c.CPURatio = round(c.Sluice.CPUUsPerMsg / c.Raw.CPUUsPerMsg)
	}
	c.Floor = decompose(rounds)
	return c
}

func main() {
	server := flag.String("server", "", "NATS server URL (required)")
	serverPid := flag.Int("server-pid", 0, "the nats-server's pid, for its CPU time (0: not measured)")
	duration := flag.Duration("duration", 5*time.Second, "measured period of each pass")
	warmup := flag.Duration("warmup", time.Second, "warm-up before each measured period")
	nRounds := flag.Int("rounds", 1, "rounds per workload, each a pass of every pipeline; figures are medians")
	asJSON := flag.Bool("json", false, "print the JSON result as the last stdout line")
	only := flag.String("only", "fast,slow", "workloads to run")
	pipelines := flag.String("pipelines", defaultPipelines, "pipelines to run, each round in the order "+strings.Join(pipelineOrder, ", ")+" (one of them for profiling)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile of the whole run to this file at the end")
	tokenBatch := flag.Uint("token-batch", 0, "the queue's token batch for every workload (0: the workload's, fast 64, slow 32)")
	prefetch := flag.Int("producer-prefetch", 0, "the Sluice producer's token pulls outstanding (0: the library's default)")
	flag.Parse()
	if *memProfile != "" {
		defer writeMemProfile(*memProfile)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if *server == "" || *nRounds < 1 {
		fmt.Fprintln(os.Stderr, "sluice-bench-go: --server is required and --rounds must be ≥ 1")
		os.Exit(2)
	}
	names, err := selectPipelines(*pipelines)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice-bench-go:", err)
		os.Exit(2)
	}
	b := &bench{url: *server, serverPid: *serverPid, duration: *duration, warmup: *warmup, prefetch: *prefetch}
	out := map[string]any{}
	for _, w := range []workload{fast, slow} {
		if !strings.Contains(*only, w.Name) {
			continue
		}
		if *tokenBatch > 0 {
			w.TokenBatch = uint32(*tokenBatch)
		}
		var rounds []map[string]result
		for r := 0; r < *nRounds; r++ {
			q := fmt.Sprintf("bench-%s-%d", w.Name, r)
			round := map[string]result{}
			for _, name := range names {
				res, err := b.pass(context.Background(), w, q, name)
				if err != nil {
					pprof.StopCPUProfile()
					fail(*asJSON, err)
				}
				round[name] = res
			}
			rounds = append(rounds, round)
		}
		c := compare(rounds)
		fmt.Fprintf(os.Stderr, "%s: raw %.0f msg/s %.1f µs/msg (go %.1f, server %.1f), %.0f B %.1f allocs/msg, backlog ≤ %d | sluice %.0f msg/s %.1f µs/msg (go %.1f, server %.1f), %.0f B %.1f allocs/msg, backlog ≤ %d (window %d + slack %d) | ratio %.2f, cpu ratio %.2f\n",
			w.Name, c.Raw.Throughput, c.Raw.CPUUsPerMsg, c.Raw.CPUGoUs, c.Raw.CPUServerUs, c.Raw.AllocBytes, c.Raw.Allocs, c.Raw.MaxBacklog,
			c.Sluice.Throughput, c.Sluice.CPUUsPerMsg, c.Sluice.CPUGoUs, c.Sluice.CPUServerUs, c.Sluice.AllocBytes, c.Sluice.Allocs, c.Sluice.MaxBacklog,
			c.Sluice.Window, c.Sluice.Slack, c.Ratio, c.CPURatio)
		for _, f := range []struct {
			name string
			r    *result
		}{{"raw-noid", c.RawNoID}, {"raw-wire", c.RawWire}, {"raw-compact", c.RawCompact}, {"raw-bounded", c.RawBounded}, {"raw-fetch", c.RawFetch}} {
			if f.r != nil {
				fmt.Fprintf(os.Stderr, "%s: %s %.0f msg/s %.1f µs/msg (go %.1f, server %.1f), %.0f B %.1f allocs/msg, backlog ≤ %d\n",
					w.Name, f.name, f.r.Throughput, f.r.CPUUsPerMsg, f.r.CPUGoUs, f.r.CPUServerUs, f.r.AllocBytes, f.r.Allocs, f.r.MaxBacklog)
			}
		}
		if len(c.Floor) > 0 {
			fmt.Fprintf(os.Stderr, "%s: floor %v\n", w.Name, c.Floor)
		}
		out[w.Name] = c
	}
	out["load_average"] = loadAverage()
	if *asJSON {
		j, _ := json.Marshal(out)
		fmt.Println(string(j))
	}
}

// writeMemProfile writes the allocations since the start (go tool pprof -sample_index=alloc_space
// or alloc_objects); the default sampling rate, one sample per 512 KiB allocated, is enough for
// a run of millions of messages.
func writeMemProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice-bench-go: memprofile:", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, "sluice-bench-go: memprofile:", err)
	}
}

func fail(asJSON bool, err error) {
	fmt.Fprintln(os.Stderr, "sluice-bench-go:", err)
	if asJSON {
		j, _ := json.Marshal(map[string]string{"error": err.Error(), "next": "check that the server runs, then rerun"})
		fmt.Println(string(j))
	}
	os.Exit(3)
}

// median takes each figure's median over the passes, except max_backlog (the largest) and
// handled (the sum).
func median(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return medianOf(v)
	}
	out := rs[0]
	out.Throughput = round(pick(func(r result) float64 { return r.Throughput }))
	out.CPUUsPerMsg = round(pick(func(r result) float64 { return r.CPUUsPerMsg }))
	out.CPUGoUs = round(pick(func(r result) float64 { return r.CPUGoUs }))
	out.CPUServerUs = round(pick(func(r result) float64 { return r.CPUServerUs }))
	out.AllocBytes = round(pick(func(r result) float64 { return r.AllocBytes }))
	out.Allocs = round(pick(func(r result) float64 { return r.Allocs }))
	out.Handled = 0
	for _, r := range rs {
		out.MaxBacklog = max(out.MaxBacklog, r.MaxBacklog)
		out.Handled += r.Handled
	}
	return out
}

func round(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
