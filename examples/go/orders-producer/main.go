// Command orders-producer is the Go service of the orders example: it sends orders
// (type "examples.Order", protobuf, examples/orders.proto) to a Sluice queue through the Go
// library, alternating schema versions 1 (no currency) and 2 (with currency). Each send waits
// for a credit, so workers slower than the producer slow it down instead of being buried.
//
//	orders-producer --server URL --queue Q --count N [--rate PER_SEC] [--json]
//
// Message ids are go-<n>. A progress line goes to stderr every second; with --json the last
// stdout line is {"sent": N, "failed": F, "max_credit_wait_ms": X}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"sluice.dev/examples/orders"
	"sluice.dev/peers/go/sluice"
)

// OrderType is the payload type of every order.
const OrderType = "examples.Order"

type summary struct {
	Sent            int   `json:"sent"`
	Failed          int   `json:"failed"`
	MaxCreditWaitMs int64 `json:"max_credit_wait_ms"`
}

func main() {
	server := flag.String("server", nats.DefaultURL, "NATS server URL")
	queue := flag.String("queue", "", "queue name (required)")
	count := flag.Int("count", 0, "orders to send (required, ≥ 1)")
	rate := flag.Float64("rate", 0, "orders per second at most (0: as fast as credits allow)")
	asJSON := flag.Bool("json", false, "print a JSON summary as the last stdout line")
	flag.Parse()
	if *queue == "" || *count < 1 || *rate < 0 {
		fmt.Fprintln(os.Stderr, "orders-producer: --queue and --count ≥ 1 are required, --rate must not be negative")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := run(ctx, *server, *queue, *count, *rate)
	if *asJSON {
		b, _ := json.Marshal(s)
		fmt.Println(string(b))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "orders-producer:", err)
		os.Exit(1)
	}
}

// order returns the n-th order: odd n are schema version 1 (no currency), even n version 2.
func order(n int) (*orders.Order, int) {
	o := &orders.Order{OrderId: fmt.Sprintf("go-%d", n), Customer: fmt.Sprintf("customer-%d", n%17),
		Lines: uint32(1 + n%5), TotalCents: int64(500 + 37*n)}
	if n%2 == 0 {
		o.Currency = "USD"
		return o, 2
	}
	return o, 1
}

func run(ctx context.Context, server, queue string, count int, rate float64) (summary, error) {
	var s summary
	nc, err := nats.Connect(server, nats.Name("orders-producer"), nats.MaxReconnects(-1))
	if err != nil {
		return s, err
	}
	defer nc.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p, err := sluice.NewProducer(ctx, nc, queue, sluice.WithLogger(log))
	if err != nil {
		return s, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(cctx)
	}()
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer t.Stop()
		tick = t.C
	}
	codec := sluice.Protobuf[*orders.Order]()
	progress := time.Now()
	var lastErr error
	for n := 1; n <= count && ctx.Err() == nil; n++ {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
			}
		}
		o, version := order(n)
		msg, err := sluice.NewMessage(codec, o.OrderId, OrderType, version, o)
		if err == nil {
			var res sluice.SendResult
			res, err = p.Send(ctx, msg)
			s.MaxCreditWaitMs = max(s.MaxCreditWaitMs, res.CreditWait.Milliseconds())
		}
		if err != nil {
			s.Failed++
			lastErr = err
			var timeout *sluice.CreditTimeoutError
			if errors.As(err, &timeout) {
				fmt.Fprintf(os.Stderr, "orders-producer: %s: no credit (%s)\n", o.OrderId, timeout.Reason)
			} else {
				fmt.Fprintf(os.Stderr, "orders-producer: %s: %v\n", o.OrderId, err)
			}
		} else {
			s.Sent++
		}
		if time.Since(progress) >= time.Second || n == count {
			progress = time.Now()
			fmt.Fprintf(os.Stderr, "orders-producer: sent %d/%d, failed %d, longest credit wait %d ms\n", s.Sent, count, s.Failed, s.MaxCreditWaitMs)
		}
	}
	if ctx.Err() != nil {
		return s, ctx.Err()
	}
	if s.Failed > 0 {
		return s, fmt.Errorf("%d of %d orders failed, the last: %w", s.Failed, count, lastErr)
	}
	return s, nil
}
