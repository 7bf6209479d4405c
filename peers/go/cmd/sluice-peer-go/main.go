// Command sluice-peer-go is the Go conformance peer of Sluice: a worker or a producer driven by
// the command-line contract of peers/README.md, writing JSON-lines events on stdout.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sluice.dev/peers/go/internal/peer"
	"sluice.dev/peers/go/sluice"
)

const usage = `usage:
  sluice-peer-go worker  --server URL --queue Q --worker-id ID [--concurrency N] [--prefetch N]
                         [--work-ms N] [--handles TYPE@MIN-MAX[,...]] [--max-attempts N]
                         [--backoff-initial-ms N] [--grace-ms N] [--grace-delay-ms N]
                         [--token-batch N] [--capacity N] [--reconciler]
  sluice-peer-go produce --server URL --queue Q --producer-id ID --count N [--type T] [--version V]
                         [--start N] [--behavior ok|poison|fail-once] [--acquire-timeout-ms N]
  sluice-peer-go schedule --server URL --queue Q --producer-id ID --count N [--delay-ms D]
                         [--type T] [--version V] [--start N]`

func main() {
	log.SetOutput(os.Stderr)
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	ev := peer.NewEvents(os.Stdout)
	if len(os.Args) < 2 {
		fatal(ev, fmt.Errorf("missing role\n%s", usage), 2)
	}
	var err error
	switch os.Args[1] {
	case "worker":
		err = runWorker(ev, os.Args[2:])
	case "produce":
		err = runProducer(ev, os.Args[2:])
	case "schedule":
		err = runSchedule(ev, os.Args[2:])
	default:
		fatal(ev, fmt.Errorf("unknown role %q\n%s", os.Args[1], usage), 2)
	}
	if err != nil {
		fatal(ev, err, 1)
	}
}

func fatal(ev *peer.Events, err error, code int) {
	msg := strings.SplitN(err.Error(), "\n", 2)[0]
	ev.Emit(peer.ErrorEvent{Event: "error", Message: msg})
	fmt.Fprintln(os.Stderr, "sluice-peer-go: "+err.Error())
	os.Exit(code)
}

func required(fs *flag.FlagSet, names ...string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, n := range names {
		if !set[n] {
			return fmt.Errorf("--%s is required", n)
		}
	}
	return nil
}

// parseHandles reads TYPE@MIN-MAX[,TYPE@MIN-MAX...].
func parseHandles(s string) ([]sluice.HandledType, error) {
	var out []sluice.HandledType
	for _, part := range strings.Split(s, ",") {
		at := strings.LastIndexByte(part, '@')
		if at <= 0 {
			return nil, fmt.Errorf("--handles %q: want TYPE@MIN-MAX", part)
		}
		lo, hi, ok := strings.Cut(part[at+1:], "-")
		if !ok {
			return nil, fmt.Errorf("--handles %q: want TYPE@MIN-MAX", part)
		}
		min, err1 := strconv.Atoi(lo)
		max, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || min < 1 || max < min {
			return nil, fmt.Errorf("--handles %q: bad version range", part)
		}
		out = append(out, sluice.HandledType{Type: part[:at], MinVersion: min, MaxVersion: max})
	}
	return out, nil
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
}

func runWorker(ev *peer.Events, args []string) error {
	cfg := peer.DefaultWorkerConfig()
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.StringVar(&cfg.Server, "server", "", "NATS server URL")
	fs.StringVar(&cfg.Queue, "queue", "", "queue name")
	fs.StringVar(&cfg.WorkerID, "worker-id", "", "worker id")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "handlers running at once")
	fs.IntVar(&cfg.Prefetch, "prefetch", cfg.Prefetch, "messages in hand beyond the running handlers")
	fs.IntVar(&cfg.WorkMs, "work-ms", 0, "handler duration in milliseconds")
	handles := fs.String("handles", "sluice.conformance.Work@1-1", "TYPE@MIN-MAX[,...]")
	fs.IntVar(&cfg.Settings.MaxAttempts, "max-attempts", cfg.Settings.MaxAttempts, "handler attempts before max-attempts")
	backoffMs := fs.Int("backoff-initial-ms", int(cfg.Settings.Backoff.InitialMs), "initial retry delay")
	graceMs := fs.Int64("grace-ms", cfg.Settings.GraceMs, "grace period for messages not handled here")
	graceDelayMs := fs.Int64("grace-delay-ms", cfg.Settings.GraceDelayMs, "NAK delay within the grace period")
	batch := fs.Uint("token-batch", uint(cfg.TokenBatch), "token batch (power of two)")
	capacity := fs.Uint("capacity", 0, "advertised capacity (default concurrency + prefetch)")
	fs.BoolVar(&cfg.Reconciler, "reconciler", false, "run the reconciler (§5.5), audit interval 1 s")
	overloadedMs := fs.Int("overloaded-for-ms", 0, "the handler answers overloaded for this long after start (§15.1)")
	fs.Int64Var(&cfg.FailFirst, "fail-first", 0, "the handler fails its first N runs (§7.6)")
	breaker := fs.String("circuit-breaker", "", "FAILURES,WINDOW,DELAY_MS: the circuit breaker's settings (§7.6; default the library's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "server", "queue", "worker-id"); err != nil {
		return err
	}
	h, err := parseHandles(*handles)
	if err != nil {
		return err
	}
	if cfg.Concurrency < 1 || cfg.Prefetch < 0 || cfg.Settings.MaxAttempts < 1 {
		return fmt.Errorf("--concurrency ≥ 1, --prefetch ≥ 0 and --max-attempts ≥ 1 are required")
	}
	if *batch < 1 || *batch > sluice.MaxToken || !sluice.IsPowerOfTwo(uint32(*batch)) {
		return fmt.Errorf("--token-batch must be a power of two between 1 and %d", sluice.MaxToken)
	}
	cfg.Handles = h
	cfg.Settings.Backoff.InitialMs = float64(*backoffMs)
	cfg.Settings.GraceMs, cfg.Settings.GraceDelayMs = *graceMs, *graceDelayMs
	cfg.TokenBatch, cfg.Capacity = uint32(*batch), uint32(*capacity)
	if *overloadedMs < 0 {
		return fmt.Errorf("--overloaded-for-ms must be ≥ 0")
	}
	cfg.OverloadedFor = time.Duration(*overloadedMs) * time.Millisecond // §15.1
	if cfg.FailFirst < 0 {
		return fmt.Errorf("--fail-first must be ≥ 0")
	}
	if *breaker != "" {
		b, err := parseBreaker(*breaker)
		if err != nil {
			return err
		}
		cfg.Breaker = &b
	}

	ctx, stop := signalContext()
	defer stop()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	w, err := peer.NewWorker(sctx, cfg, ev)
	if err != nil {
		return err
	}
	return w.Run(ctx)
}

func runProducer(ev *peer.Events, args []string) error {
	cfg := peer.DefaultProducerConfig()
	fs := flag.NewFlagSet("produce", flag.ContinueOnError)
	fs.StringVar(&cfg.Server, "server", "", "NATS server URL")
	fs.StringVar(&cfg.Queue, "queue", "", "queue name")
	fs.StringVar(&cfg.ProducerID, "producer-id", "", "producer id")
	fs.IntVar(&cfg.Count, "count", 0, "messages to send")
	fs.StringVar(&cfg.Type, "type", cfg.Type, "Sluice-Type")
	fs.IntVar(&cfg.Version, "version", cfg.Version, "Sluice-Type-Version")
	fs.IntVar(&cfg.Start, "start", 0, "first seq")
	fs.StringVar(&cfg.Behavior, "behavior", cfg.Behavior, "ok, poison or fail-once")
	fs.StringVar(&cfg.FairnessKey, "fairness-key", "", "Sluice-Fairness-Key of every message (§15.3)")
	acquireMs := fs.Int("acquire-timeout-ms", int(cfg.AcquireTimeout.Milliseconds()), "longest wait for a credit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "server", "queue", "producer-id", "count"); err != nil {
		return err
	}
	if cfg.Count < 0 || cfg.Version < 1 {
		return fmt.Errorf("--count ≥ 0 and --version ≥ 1 are required")
	}
	switch cfg.Behavior {
	case "ok", "poison", "fail-once":
	default:
		return fmt.Errorf("--behavior must be ok, poison or fail-once")
	}
	if cfg.FairnessKey != "" && !sluice.ValidFairnessKey(cfg.FairnessKey) { // §15.3
		return fmt.Errorf("--fairness-key %q must be 1-64 characters of [A-Za-z0-9_.:@-]", cfg.FairnessKey)
	}
	cfg.AcquireTimeout = time.Duration(*acquireMs) * time.Millisecond

	ctx, stop := signalContext()
	defer stop()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p, err := peer.NewProducer(sctx, cfg, ev)
	if err != nil {
		return err
	}
	return p.Run(ctx)
}

// parseBreaker reads --circuit-breaker FAILURES,WINDOW,DELAY_MS.
func parseBreaker(v string) (peer.Breaker, error) {
	parts := strings.Split(v, ",")
	bad := fmt.Errorf("--circuit-breaker %q: want FAILURES,WINDOW,DELAY_MS with 1 ≤ FAILURES ≤ WINDOW and DELAY_MS ≥ 1, e.g. 3,5,1000", v)
	if len(parts) != 3 {
		return peer.Breaker{}, bad
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return peer.Breaker{}, bad
		}
		n[i] = x
	}
	if n[0] < 1 || n[1] < n[0] || n[2] < 1 {
		return peer.Breaker{}, bad
	}
	return peer.Breaker{Failures: n[0], Window: n[1], Delay: time.Duration(n[2]) * time.Millisecond}, nil
}
