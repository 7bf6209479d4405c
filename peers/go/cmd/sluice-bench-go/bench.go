package main

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluice"
)

type bench struct {
	url              string
	serverPid        int
	duration, warmup time.Duration
	prefetch         int // the producer's token pulls outstanding (WithPrefetch); 0: its default
}

// bytesCodec hands the payload to the handler as it is.
type bytesCodec struct{}

func (bytesCodec) ContentType() string             { return "application/octet-stream" }
func (bytesCodec) Encode(b []byte) ([]byte, error) { return b, nil }
func (bytesCodec) Decode(b []byte) ([]byte, error) { return b, nil }

// pipeline is one side's running producers and consumers.
type pipeline struct {
	handled    atomic.Int64
	creditWait atomic.Int64 // longest credit wait in the measured period, ns
	measuring  atomic.Bool
	stop       func()
	stream     string
}

func work(d time.Duration) {
	if d > 0 {
		time.Sleep(d)
	}
}

// pass runs one pipeline (sluice, or a raw one: pipelineStyle) on queue q: warm-up, measured
// period, teardown.
func (b *bench) pass(ctx context.Context, w workload, q string, name string) (result, error) {
	useSluice := name == "sluice"
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	admin, err := nats.Connect(b.url)
	if err != nil {
		return result{}, err
	}
	defer admin.Close()
	js, _ := jetstream.New(admin)
	var p *pipeline
	if useSluice {
		p, err = b.startSluice(ctx, js, w, q)
	} else {
		p, err = b.startRaw(ctx, js, w, q, pipelineStyle(name))
	}
	if err != nil {
		return result{}, err
	}
	defer p.stop()
	stream, err := js.Stream(ctx, p.stream)
	if err != nil {
		return result{}, err
	}
	select {
	case <-time.After(b.warmup):
	case <-ctx.Done():
	}
	var maxBacklog atomic.Uint64
	sampling, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for sampling.Err() == nil {
			if info, err := stream.Info(sampling); err == nil && info.State.Msgs > maxBacklog.Load() {
				maxBacklog.Store(info.State.Msgs)
			}
			select {
			case <-t.C:
			case <-sampling.Done():
			}
		}
	}()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	h0, self0, srv0, t0 := p.handled.Load(), cpuMicros(0), cpuMicros(b.serverPid), time.Now()
	p.measuring.Store(true)
	time.Sleep(b.duration)
	h1, self1, srv1, t1 := p.handled.Load(), cpuMicros(0), cpuMicros(b.serverPid), time.Now()
	runtime.ReadMemStats(&m1)
	p.measuring.Store(false)
	stopSampling()
	<-sampled
	n := h1 - h0
	r := result{Handled: n, Throughput: round(float64(n) / t1.Sub(t0).Seconds()), MaxBacklog: maxBacklog.Load(),
		CPUGoUs: -1, CPUServerUs: -1}
	if n > 0 && self0 >= 0 {
		r.CPUGoUs = round((self1 - self0) / float64(n))
	}
	if n > 0 {
		r.AllocBytes = round(float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n))
		r.Allocs = round(float64(m1.Mallocs-m0.Mallocs) / float64(n))
	}
	if n > 0 && srv0 >= 0 && b.serverPid > 0 {
		r.CPUServerUs = round((srv1 - srv0) / float64(n))
	}
	r.CPUUsPerMsg = round(max(r.CPUGoUs, 0) + max(r.CPUServerUs, 0))
	if useSluice {
		r.Window, r.Slack = w.Window, w.TokenBatch-1
		r.CreditWaitMax = round(float64(p.creditWait.Load()) / 1e6)
	}
	cancel()
	p.stop()
	_ = js.DeleteStream(context.Background(), p.stream)
	return r, nil
}

// startRaw: a WorkQueue stream, producers publishing with the headers of style (raw: a
// Nats-Msg-Id) as fast as the sends in flight allow, a pull consumer (Consume) handing each
// message to a pool of handlers that read the headers style reads and ack. A bounded style
// keeps at most the window published and not yet acked: a send takes a slot of a local
// semaphore before it publishes, the handler frees it after the ack. A fetch style pulls with
// Fetch as the Sluice worker does (fetch.go) instead of Consume.
func (b *bench) startRaw(ctx context.Context, js jetstream.JetStream, w workload, q string, style wireStyle) (*pipeline, error) {
	name, subject := "RAW_"+q, "raw."+q
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute})
	if err != nil {
		return nil, err
	}
	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy,
		MaxAckPending: 10000, AckWait: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	p := &pipeline{stream: name}
	cnc, err := nats.Connect(b.url)
	if err != nil {
		return nil, err
	}
	cjs, _ := jetstream.New(cnc)
	cons, _ := cjs.Consumer(ctx, name, c.CachedInfo().Name)
	// jobs is never closed: Consume may still call back after Stop, and a send on a closed
	// channel panics. stopped ends the handlers and releases a callback still waiting.
	jobs, stopped := make(chan jetstream.Msg), make(chan struct{})
	var slots chan struct{}
	if style.bounded {
		slots = make(chan struct{}, w.Window)
	}
	// fetching: the fetcher (style.fetch), set once it runs; its slots free after each ack.
	var fetching **fetcher
	if style.fetch {
		fetching = new(*fetcher)
	}
	free := func() {
		if fetching != nil {
			(*fetching).release()
		}
		if slots != nil {
			select {
			case <-slots:
			default:
			}
		}
	}
	var handlers sync.WaitGroup
	for i := 0; i < w.Handlers; i++ {
		handlers.Add(1)
		go func() {
			defer handlers.Done()
			for {
				select {
				case m := <-jobs:
					if !style.read(m.Headers()) {
						_ = m.Term()
						free()
						continue
					}
					work(w.Work)
					if m.Ack() == nil {
						p.handled.Add(1)
					}
					free()
				case <-stopped:
					return
				}
			}
		}()
	}
	var cc interface{ Stop() }
	if fetching != nil {
		cc = startFetching(cons, w.Handlers+w.Prefetch, jobs, stopped)
		*fetching = cc.(*fetcher)
	} else if cc, err = cons.Consume(func(m jetstream.Msg) {
		select {
		case jobs <- m:
		case <-stopped:
		}
	}); err != nil {
		return nil, err
	}
	stopSenders := b.senders(ctx, w, func(ctx context.Context, pnc *nats.Conn, pjs jetstream.JetStream, id string, data []byte) {
		if slots != nil {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
		msg := &nats.Msg{Subject: subject, Data: data}
		fh := style.header(msg, id)
		if _, err := pjs.PublishMsg(ctx, msg); err != nil {
			free() // taken as not stored
		}
		if fh != nil {
			fh.release()
		}
	})
	var once sync.Once
	p.stop = func() {
		once.Do(func() {
			stopSenders()
			cc.Stop()
			close(stopped)
			handlers.Wait()
			cnc.Close()
		})
	}
	return p, nil
}

// startSluice: a provisioned queue (standing buffer = the window, so the run starts with its
// credits), one sluice.Worker and sluice.Producers sending as the sends in flight allow.
func (b *bench) startSluice(ctx context.Context, js jetstream.JetStream, w workload, q string) (*pipeline, error) {
	if err := sluice.Provision(ctx, js, q, sluice.QueueConfig{StandingBuffer: w.Window, TokenBatch: w.TokenBatch}); err != nil {
		return nil, err
	}
	p := &pipeline{stream: sluice.WorkStream(q)}
	quiet := sluice.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	wnc, err := nats.Connect(b.url)
	if err != nil {
		return nil, err
	}
	worker, err := sluice.NewWorker(ctx, wnc, q, quiet, sluice.WithConcurrency(w.Handlers), sluice.WithWorkerPrefetch(w.Prefetch),
		sluice.WithCapacity(w.Window), sluice.WithTokenBatch(w.TokenBatch),
		sluice.Handle("bench.Msg", 1, 1, sluice.Codec[[]byte](bytesCodec{}), func(ctx context.Context, _ []byte, _ *sluice.Msg) error {
			work(w.Work)
			p.handled.Add(1)
			return nil
		}))
	if err != nil {
		wnc.Close()
		return nil, err
	}
	wctx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); _ = worker.Run(wctx) }()

	abort := func(err error) (*pipeline, error) { stopWorker(); <-workerDone; wnc.Close(); return nil, err }
	pnc, err := nats.Connect(b.url)
	if err != nil {
		return abort(err)
	}
	popts := []sluice.ProducerOption{quiet, sluice.WithAcquireTimeout(60 * time.Second)}
	if b.prefetch > 0 {
		popts = append(popts, sluice.WithPrefetch(b.prefetch))
	}
	prod, err := sluice.NewProducer(ctx, pnc, q, popts...)
	if err != nil {
		pnc.Close()
		return abort(err)
	}
	stopSenders := b.senders(ctx, w, func(ctx context.Context, _ *nats.Conn, _ jetstream.JetStream, id string, data []byte) {
		res, err := prod.Send(ctx, sluice.Message{ID: id, Type: "bench.Msg", Version: 1, Data: data})
		if err == nil && p.measuring.Load() {
			for {
				old := p.creditWait.Load()
				if int64(res.CreditWait) <= old || p.creditWait.CompareAndSwap(old, int64(res.CreditWait)) {
					break
				}
			}
		}
	})
	var once sync.Once
	p.stop = func() {
		once.Do(func() {
			stopSenders()
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = prod.Close(cctx)
			cancel()
			pnc.Close()
			stopWorker()
			<-workerDone
			wnc.Close()
		})
	}
	return p, nil
}

// senders runs w.InFlight goroutines calling send in a loop on one connection until stopped.
func (b *bench) senders(ctx context.Context, w workload, send func(context.Context, *nats.Conn, jetstream.JetStream, string, []byte)) func() {
	sctx, cancel := context.WithCancel(ctx)
	nc, err := nats.Connect(b.url)
	if err != nil {
		cancel()
		return func() {}
	}
	js, _ := jetstream.New(nc)
	var wg sync.WaitGroup
	var seq atomic.Int64
	data := make([]byte, w.PayloadSize)
	for i := 0; i < w.InFlight; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sctx.Err() == nil {
				send(sctx, nc, js, "m-"+strconv.FormatInt(seq.Add(1), 10), data)
			}
		}()
	}
	return func() { cancel(); wg.Wait(); nc.Close() }
}
