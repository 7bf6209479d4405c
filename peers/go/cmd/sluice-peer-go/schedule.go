package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"sluice.dev/peers/go/internal/peer"
)

// runSchedule implements `schedule` of peers/README.md: store --count one-shot schedules due
// --delay-ms after each is stored (PROTOCOL.md §13.3).
func runSchedule(ev *peer.Events, args []string) error {
	cfg := peer.DefaultProducerConfig()
	fs := flag.NewFlagSet("schedule", flag.ContinueOnError)
	fs.StringVar(&cfg.Server, "server", "", "NATS server URL")
	fs.StringVar(&cfg.Queue, "queue", "", "queue name")
	fs.StringVar(&cfg.ProducerID, "producer-id", "", "producer id")
	fs.IntVar(&cfg.Count, "count", 0, "messages to schedule")
	fs.StringVar(&cfg.Type, "type", cfg.Type, "Sluice-Type")
	fs.IntVar(&cfg.Version, "version", cfg.Version, "Sluice-Type-Version")
	fs.IntVar(&cfg.Start, "start", 0, "first seq")
	delayMs := fs.Int("delay-ms", 1000, "delay from storing to due, in milliseconds")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "server", "queue", "producer-id", "count"); err != nil {
		return err
	}
	if cfg.Count < 0 || cfg.Version < 1 {
		return fmt.Errorf("--count ≥ 0 and --version ≥ 1 are required")
	}
	ctx, stop := signalContext()
	defer stop()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return peer.Schedule(sctx, cfg, time.Duration(*delayMs)*time.Millisecond, ev)
}
