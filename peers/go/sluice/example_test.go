package sluice_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluice"
)

// Greeting is the payload of the examples.
type Greeting struct {
	Name string `json:"name"`
}

// The five-minute tour: provision a queue, run a worker with a typed handler, send three
// messages with a producer that waits for credits, and stop the worker by cancelling its
// context.
func Example() {
	ctx := context.Background()
	nc, _ := nats.Connect(serverURL) // your server's URL, e.g. nats.DefaultURL
	defer nc.Close()
	js, _ := jetstream.New(nc)
	quiet := sluice.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

	// Once per queue (production deployments use scripts/sluice apply).
	if err := sluice.Provision(ctx, js, "greetings", sluice.QueueConfig{}); err != nil {
		panic(err)
	}

	// A worker: a handler for type "example.Greeting", schema versions 1 to 1, decoded as JSON.
	done := make(chan string, 3)
	w, err := sluice.NewWorker(ctx, nc, "greetings", quiet,
		sluice.Handle("example.Greeting", 1, 1, sluice.JSON[Greeting](),
			func(ctx context.Context, g Greeting, m *sluice.Msg) error {
				done <- "hello, " + g.Name
				return nil // ack; sluice.Reject(err) dead-letters, any other error retries
			}))
	if err != nil {
		panic(err)
	}
	wctx, stop := context.WithCancel(ctx)
	stopped := make(chan error)
	go func() { stopped <- w.Run(wctx) }()

	// A producer: Send blocks until a credit is free and the server stored the message.
	p, err := sluice.NewProducer(ctx, nc, "greetings", quiet)
	if err != nil {
		panic(err)
	}
	for i, name := range []string{"Ada", "Grace", "Linus"} {
		msg, _ := sluice.NewMessage(sluice.JSON[Greeting](), fmt.Sprintf("greeting-%d", i), "example.Greeting", 1, Greeting{Name: name})
		if _, err := p.Send(ctx, msg); err != nil {
			var timeout *sluice.CreditTimeoutError
			if errors.As(err, &timeout) {
				fmt.Println("no credit:", timeout.Reason)
			}
			panic(err)
		}
	}
	_ = p.Close(ctx)

	got := map[string]bool{}
	for len(got) < 3 {
		got[<-done] = true
	}
	fmt.Println(got["hello, Ada"], got["hello, Grace"], got["hello, Linus"])
	stop() // graceful shutdown: running handlers finish, owed credits are minted
	fmt.Println(<-stopped)
	// Output:
	// true true true
	// <nil>
}

// A send that finds no credit says why: here no worker is live and the queue has no standing
// buffer.
func ExampleCreditTimeoutError() {
	ctx := context.Background()
	nc, _ := nats.Connect(serverURL)
	defer nc.Close()
	js, _ := jetstream.New(nc)
	_ = sluice.Provision(ctx, js, "nobody-home", sluice.QueueConfig{})
	p, _ := sluice.NewProducer(ctx, nc, "nobody-home", sluice.WithAcquireTimeout(200*time.Millisecond))
	defer p.Close(ctx)

	_, err := p.Send(ctx, sluice.Message{ID: "m-1", Type: "example.Greeting", Version: 1, Data: []byte(`{}`)})
	var timeout *sluice.CreditTimeoutError
	fmt.Println(errors.Is(err, sluice.ErrCreditTimeout), errors.As(err, &timeout) && timeout.Reason == sluice.NoLiveWorkers)
	// Output: true true
}

// Upcasters turn old payloads into the version the handler decodes; the worker then
// advertises the old version as handled.
func ExampleUpcast() {
	ctx := context.Background()
	nc, _ := nats.Connect(serverURL)
	defer nc.Close()
	js, _ := jetstream.New(nc)
	_ = sluice.Provision(ctx, js, "upcast-example", sluice.QueueConfig{})
	w, err := sluice.NewWorker(ctx, nc, "upcast-example",
		sluice.Handle("example.Greeting", 2, 2, sluice.JSON[Greeting](),
			func(ctx context.Context, g Greeting, m *sluice.Msg) error { return nil }),
		sluice.Upcast("example.Greeting", 1, func(v1 []byte) ([]byte, error) { return v1, nil }))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", w.Handled())
	// Output: [{Type:example.Greeting MinVersion:1 MaxVersion:2}]
}

// A handler whose downstream answers 429 pushes back with Overloaded: the worker holds the
// delivery, runs the handler again after the retry-after, counts no attempt (the message is
// processed on attempt 1) and lowers its advertised capacity meanwhile (WithPushback).
func ExampleOverloaded() {
	ctx := context.Background()
	nc, _ := nats.Connect(serverURL)
	defer nc.Close()
	js, _ := jetstream.New(nc)
	_ = sluice.Provision(ctx, js, "pushback-example", sluice.QueueConfig{})
	quiet := sluice.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

	runs := 0
	done := make(chan int, 1)
	w, err := sluice.NewWorker(ctx, nc, "pushback-example", quiet,
		sluice.WithPushback(sluice.PushbackPolicy{Decrease: 0.5, Floor: 1, DecreaseIntervalMs: 1000, IncreaseIntervalMs: 1000}),
		sluice.Handle("example.Greeting", 1, 1, sluice.JSON[Greeting](),
			func(ctx context.Context, g Greeting, m *sluice.Msg) error {
				runs++ // one delivery: its runs never overlap
				if runs < 3 {
					// e.g. the downstream answered 429 with Retry-After
					return sluice.OverloadedBy(errors.New("HTTP 429"), 50*time.Millisecond)
				}
				done <- m.Attempt
				return nil
			}))
	if err != nil {
		panic(err)
	}
	wctx, stop := context.WithCancel(ctx)
	stopped := make(chan error)
	go func() { stopped <- w.Run(wctx) }()

	p, _ := sluice.NewProducer(ctx, nc, "pushback-example", quiet)
	msg, _ := sluice.NewMessage(sluice.JSON[Greeting](), "greeting-1", "example.Greeting", 1, Greeting{Name: "Ada"})
	if _, err := p.Send(ctx, msg); err != nil {
		panic(err)
	}
	_ = p.Close(ctx)
	fmt.Println("processed on attempt", <-done, "after", runs, "runs")
	stop()
	<-stopped
	// Output: processed on attempt 1 after 3 runs
}
