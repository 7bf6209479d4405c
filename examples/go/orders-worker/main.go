// Command orders-worker is the Go worker of the orders example: it consumes orders (type
// "examples.Order", protobuf, examples/orders.proto) from a Sluice queue through the Go library.
// Its handler is written against schema version 2; version-1 orders are upcast to it with
// currency "EUR", so the worker advertises versions 1-2.
//
//	orders-worker --server URL --queue Q --worker-id ID [--concurrency C] [--service-ms M]
//
// It spends M ms on each order and prints one JSON line per processed order (after the server
// confirmed its ack), {"event":"processed","id":"<Nats-Msg-Id>","lang":"go","version":V}, V the
// version the order was sent with. On SIGTERM or SIGINT it shuts down cleanly (in-flight orders
// finish, owed credits are minted, the advert is withdrawn) and prints
// {"event":"stopped","processed":N} last. The Rust and Java workers of the example have the same
// command line and output (examples/README.md).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"sluice.dev/examples/orders"
	"sluice.dev/peers/go/sluice"
)

// OrderType is the payload type of every order.
const OrderType = "examples.Order"

// v1ToV2 upcasts a version-1 order: the same fields, currency "EUR".
func v1ToV2(data []byte) ([]byte, error) {
	var o orders.Order
	if err := proto.Unmarshal(data, &o); err != nil {
		return nil, err
	}
	o.Currency = "EUR"
	return proto.Marshal(&o)
}

// lines writes one JSON object per line to stdout.
type lines struct{ mu sync.Mutex }

func (l *lines) emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Println(string(b))
}

type processedLine struct {
	Event   string `json:"event"`
	ID      string `json:"id"`
	Lang    string `json:"lang"`
	Version int    `json:"version"`
}

type stoppedLine struct {
	Event     string `json:"event"`
	Processed int64  `json:"processed"`
}

func main() {
	server := flag.String("server", nats.DefaultURL, "NATS server URL")
	queue := flag.String("queue", "", "queue name (required)")
	workerID := flag.String("worker-id", "", "worker id (required)")
	concurrency := flag.Int("concurrency", 4, "handlers running at once")
	prefetch := flag.Int("prefetch", 4, "orders in hand beyond the running handlers")
	serviceMs := flag.Int("service-ms", 0, "simulated work per order, in milliseconds")
	flag.Parse()
	if *queue == "" || *workerID == "" || *concurrency < 1 || *prefetch < 0 || *serviceMs < 0 {
		fmt.Fprintln(os.Stderr, "orders-worker: --queue and --worker-id are required, --concurrency ≥ 1, --prefetch and --service-ms ≥ 0")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *server, *queue, *workerID, *concurrency, *prefetch, time.Duration(*serviceMs)*time.Millisecond); err != nil {
		fmt.Fprintln(os.Stderr, "orders-worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, server, queue, id string, concurrency, prefetch int, service time.Duration) error {
	nc, err := nats.Connect(server, nats.Name("orders-worker-"+id), nats.MaxReconnects(-1))
	if err != nil {
		return err
	}
	defer nc.Close()
	out := &lines{}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	handle := func(ctx context.Context, o *orders.Order, m *sluice.Msg) error {
		if o.Currency == "" {
			return sluice.Reject(fmt.Errorf("order %s has no currency", o.OrderId))
		}
		select { // the simulated work
		case <-time.After(service):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w, err := sluice.NewWorker(ctx, nc, queue,
		sluice.WithWorkerID(id),
		sluice.WithConcurrency(concurrency),
		sluice.WithWorkerPrefetch(prefetch),
		// The handler is written against the newest schema...
		sluice.Handle(OrderType, 2, 2, sluice.Protobuf[*orders.Order](), handle),
		// ...and version-1 orders are upcast to it, so the worker advertises versions 1-2.
		sluice.Upcast(OrderType, 1, v1ToV2),
		sluice.WithLogger(log),
		sluice.WithObserver(func(e sluice.Event) {
			if p, ok := e.(*sluice.Processed); ok {
				out.emit(processedLine{Event: "processed", ID: p.MsgID, Lang: "go", Version: p.Version})
			}
		}),
	)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "orders-worker %s on %s: concurrency %d, %s per order; SIGTERM to stop\n", id, queue, concurrency, service)
	err = w.Run(ctx) // until ctx ends, then a clean shutdown
	out.emit(stoppedLine{Event: "stopped", Processed: w.Processed()})
	return err
}
