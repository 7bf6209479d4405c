package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluice"
	"sluice.dev/peers/go/sluicepb"
	"sluice.dev/peers/go/sluicetest"
)

var peerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-peer-go-test")
	if err != nil {
		panic(err)
	}
	peerBin = filepath.Join(dir, "sluice-peer-go")
	args := []string{"build", "-o", peerBin}
	if os.Getenv("SLUICE_PEER_RACE") != "" {
		args = append(args, "-race") // the peer binary itself under the race detector
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building sluice-peer-go:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// provision creates the §2 topology for queue q.
func provision(t *testing.T, ctx context.Context, js jetstream.JetStream, q string) {
	t.Helper()
	must := func(what string, err error) {
		if err != nil {
			t.Fatalf("provisioning %s: %v", what, err)
		}
	}
	ws, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: sluice.WorkStream(q), Subjects: []string{sluice.WorkSubject(q)},
		Retention: jetstream.WorkQueuePolicy, Discard: jetstream.DiscardNew, MaxMsgs: 100000, Storage: jetstream.FileStorage,
		Duplicates: 2 * time.Minute, MaxMsgSize: 1 << 20})
	must("work stream", err)
	_, err = ws.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: sluice.WorkerConsumer, AckPolicy: jetstream.AckExplicitPolicy,
		MaxDeliver: -1, MaxAckPending: 10000, AckWait: 30 * time.Second, MaxWaiting: 512})
	must("worker consumer", err)
	cs, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: sluice.CreditStream, Subjects: []string{"sluice.credit.>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage})
	must("credit stream", err)
	_, err = cs.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: sluice.CreditConsumer(q), AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubject: sluice.CreditFilter(q), MaxDeliver: -1, AckWait: 10 * time.Second, MaxWaiting: 512})
	must("credit consumer", err)
	_, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: sluice.CapacityBucket, History: 1, TTL: 60 * time.Second})
	must("capacity bucket", err)
	_, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: sluice.ControlBucket, History: 1})
	must("control bucket", err)
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: sluice.DLQStream, Subjects: []string{"sluice.dlq.>"},
		Retention: jetstream.LimitsPolicy, MaxAge: 30 * 24 * time.Hour, Duplicates: 10 * time.Minute, Storage: jetstream.FileStorage})
	must("dlq stream", err)
	_, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: sluice.ProcessedBucket, History: 1, TTL: time.Hour})
	must("processed bucket", err)
}

// storedCredits is T for q (§5.3).
func storedCredits(ctx context.Context, js jetstream.JetStream, q string) (uint64, error) {
	s, err := js.Stream(ctx, sluice.CreditStream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(sluice.CreditFilter(q)))
	if err != nil {
		return 0, err
	}
	var total uint64
	for subj, n := range info.State.Subjects {
		total += uint64(sluice.TokenValue(subj)) * n
	}
	return total, nil
}

// event is one JSON line of a peer's stdout.
type event map[string]any

func (e event) str(k string) string { s, _ := e[k].(string); return s }
func (e event) num(k string) int64  { f, _ := e[k].(float64); return int64(f) }

// proc is a running peer binary and the events it printed.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	evs  []event
	done chan struct{}
	err  error
}

func startPeer(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(peerBin, args...), done: make(chan struct{})}
	p.cmd.Stderr = os.Stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var e event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.str("event") == "" {
				t.Errorf("peer %v printed a line that is not an event: %q", args[0], sc.Text())
				continue
			}
			p.mu.Lock()
			p.evs = append(p.evs, e)
			p.mu.Unlock()
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) events(kind string) []event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []event
	for _, e := range p.evs {
		if e.str("event") == kind {
			out = append(out, e)
		}
	}
	return out
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func TestWorkerAndProducersAgainstNATS(t *testing.T) {
	url := sluicetest.Run(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	q := fmt.Sprintf("goit-%d", time.Now().UnixNano()%1000000)
	provision(t, ctx, js, q)

	// Circulating credits C = 4 + 2 = 6.
	const minted = 6
	for _, n := range []uint32{4, 2} {
		body, _ := sluice.Encode(&sluicepb.CreditToken{Credits: n, MintedBy: "test", MintedUnixMs: time.Now().UnixMilli(),
			Reason: sluicepb.MintReason_MINT_REASON_BOOTSTRAP})
		if _, err := js.Publish(ctx, sluice.CreditSubject(q, n), body); err != nil {
			t.Fatal(err)
		}
	}

	// The backlog B is sampled throughout the run; it must never exceed the minted credits.
	ws, _ := js.Stream(ctx, sluice.WorkStream(q))
	var maxBacklog atomic.Uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSampling:
				return
			default:
			}
			if info, err := ws.Info(ctx); err == nil && info.State.Msgs > maxBacklog.Load() {
				maxBacklog.Store(info.State.Msgs)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()

	worker := startPeer(t, "worker", "--server", url, "--queue", q, "--worker-id", "gw1",
		"--concurrency", "2", "--prefetch", "2", "--token-batch", "4", "--work-ms", "2")
	sluicetest.Eventually(t, 15*time.Second, "worker ready", func() bool { return len(worker.events("ready")) == 1 || worker.exited() })
	if worker.exited() {
		t.Fatalf("worker exited early: %v", worker.err)
	}

	const nOK, nFail = 40, 3
	producers := []*proc{
		startPeer(t, "produce", "--server", url, "--queue", q, "--producer-id", "gp1", "--count", strconv.Itoa(nOK)),
		startPeer(t, "produce", "--server", url, "--queue", q, "--producer-id", "gp2", "--count", "1", "--behavior", "poison"),
		startPeer(t, "produce", "--server", url, "--queue", q, "--producer-id", "gp3", "--count", strconv.Itoa(nFail),
			"--behavior", "fail-once", "--start", "100"),
	}
	sluicetest.Eventually(t, 60*time.Second, "producers to exit", func() bool {
		for _, p := range producers {
			if !p.exited() {
				return false
			}
		}
		return true
	})
	sentTrace := map[string]string{}
	for i, p := range producers {
		if p.err != nil {
			t.Fatalf("producer %d failed: %v", i+1, p.err)
		}
		done := p.events("done")
		if len(done) != 1 {
			t.Fatalf("producer %d: %d done events", i+1, len(done))
		}
		for _, e := range p.events("sent") {
			if e.num("stream_seq") < 1 || len(e.str("trace_id")) != 32 {
				t.Errorf("bad sent event %v", e)
			}
			sentTrace[e.str("msg_id")] = e.str("trace_id")
		}
	}
	if len(sentTrace) != nOK+1+nFail {
		t.Fatalf("%d distinct messages sent, want %d", len(sentTrace), nOK+1+nFail)
	}

	sluicetest.Eventually(t, 30*time.Second, "every message settled", func() bool {
		return len(worker.events("processed")) >= nOK+nFail && len(worker.events("dead_lettered")) >= 1
	})
	sluicetest.Eventually(t, 15*time.Second, "the work stream to empty", func() bool {
		info, err := ws.Info(ctx)
		return err == nil && info.State.Msgs == 0
	})
	// A producer returns a partly spent token by acking it (§6.7 [v1.1]); this fleet has no
	// reconciler to mint the unspent rest, so every credit is either stored or reported returned.
	// A lost or duplicated credit would break the sum.
	var stored uint64
	sluicetest.Eventually(t, 15*time.Second, "every credit stored or returned", func() bool {
		var returned uint64
		for _, p := range producers {
			for _, e := range p.events("returned") {
				returned += uint64(e.num("unspent"))
			}
		}
		tk, err := storedCredits(ctx, js, q)
		if err == nil && tk != stored {
			stored = tk
			t.Logf("credits stored: %d + returned %d of %d", tk, returned, minted)
		}
		return err == nil && tk+returned == minted
	})
	close(stopSampling)
	<-sampled

	// Exactly once: every ok and fail-once message processed once, with the producer's trace.
	seen := map[string]int{}
	for _, e := range worker.events("processed") {
		id := e.str("msg_id")
		seen[id]++
		if e.str("trace_id") != sentTrace[id] {
			t.Errorf("%s: processed in trace %s, sent in %s", id, e.str("trace_id"), sentTrace[id])
		}
		if e.str("lang") != "go" || e.str("id") != "gw1" || e.str("type") != "sluice.conformance.Work" || e.num("version") != 1 {
			t.Errorf("processed event fields: %v", e)
		}
		if strings.HasPrefix(id, "gp3-") && e.num("attempt") != 2 {
			t.Errorf("fail-once message %s processed on attempt %d", id, e.num("attempt"))
		}
	}
	for id := range sentTrace {
		want := 1
		if id == "gp2-0" {
			want = 0
		}
		if seen[id] != want {
			t.Errorf("%s processed %d times, want %d", id, seen[id], want)
		}
	}
	if naks := worker.events("nak"); len(naks) != nFail {
		t.Errorf("%d nak events, want %d", len(naks), nFail)
	} else {
		for _, e := range naks {
			if e.str("reason") != "retry" || e.num("attempt") != 1 || e.num("delay_ms") < 80 || e.num("delay_ms") > 120 {
				t.Errorf("nak event %v", e)
			}
		}
	}

	// The poison message: one dead-letter record, reason rejected, with the §8 headers.
	dls := worker.events("dead_lettered")
	if len(dls) != 1 || dls[0].str("msg_id") != "gp2-0" || dls[0].str("reason") != "rejected" || dls[0].num("attempt") != 1 {
		t.Fatalf("dead_lettered events: %v", dls)
	}
	dlq, _ := js.Stream(ctx, sluice.DLQStream)
	info, err := dlq.Info(ctx, jetstream.WithSubjectFilter(sluice.DLQSubject(q)))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.State.Subjects[sluice.DLQSubject(q)]; got != 1 {
		t.Fatalf("%d dead-letter records, want 1", got)
	}
	rec, err := dlq.GetLastMsgForSubject(ctx, sluice.DLQSubject(q))
	if err != nil {
		t.Fatal(err)
	}
	h := rec.Header
	seq := h.Get(sluice.HdrDlqStreamSeq)
	for k, want := range map[string]string{
		sluice.HdrDlqReason: "rejected", sluice.HdrDlqAttempts: "1", sluice.HdrDlqStream: sluice.WorkStream(q),
		sluice.HdrDlqSubject: sluice.WorkSubject(q), sluice.HdrDlqWorker: "gw1", sluice.HdrDlqMsgID: "gp2-0",
		sluice.HdrMsgID: "dlq." + sluice.WorkStream(q) + "." + seq, sluice.HdrType: "sluice.conformance.Work",
		sluice.HdrTypeVersion: "1", sluice.HdrProtocol: "1", sluice.HdrProducer: "gp2", sluice.HdrContentType: "application/json",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("record header %s = %q, want %q", k, got, want)
		}
	}
	if n, err := strconv.ParseUint(seq, 10, 64); err != nil || n < 1 {
		t.Errorf("record header %s = %q", sluice.HdrDlqStreamSeq, seq)
	}
	if at, err := strconv.ParseInt(h.Get(sluice.HdrDlqAt), 10, 64); err != nil || time.Since(time.UnixMilli(at)) > time.Minute {
		t.Errorf("record header %s = %q", sluice.HdrDlqAt, h.Get(sluice.HdrDlqAt))
	}
	if h.Get(sluice.HdrDlqError) == "" {
		t.Errorf("record without %s", sluice.HdrDlqError)
	}
	if tid, _, ok := sluice.ParseTraceparent(h.Get(sluice.HdrTraceparent)); !ok || tid != sentTrace["gp2-0"] {
		t.Errorf("record traceparent %q, sent trace %s", h.Get(sluice.HdrTraceparent), sentTrace["gp2-0"])
	}
	if string(rec.Data) != `{"seq": 0, "behavior": "poison"}` {
		t.Errorf("record payload %q", rec.Data)
	}

	if mb := maxBacklog.Load(); mb > minted {
		t.Errorf("backlog reached %d, more than the %d minted credits", mb, minted)
	}
	t.Logf("max sampled backlog %d of %d credits", maxBacklog.Load(), minted)

	// Producers deleted their reports.
	ctl, _ := js.KeyValue(ctx, sluice.ControlBucket)
	for _, id := range []string{"gp1", "gp2", "gp3"} {
		if _, err := ctl.Get(ctx, sluice.ProducerReportKey(q, id)); !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Errorf("report of %s still present (%v)", id, err)
		}
	}

	// The worker advertises RUNNING with capacity concurrency + prefetch and b' = 2 (§5.4: --token-batch
	// 4 is capped at the largest power of two ≤ capacity / 2), then shuts down on SIGTERM: done
	// event, exit 0, advert deleted.
	capKV, _ := js.KeyValue(ctx, sluice.CapacityBucket)
	entry, err := capKV.Get(ctx, sluice.CapacityKey(q, "gw1"))
	if err != nil {
		t.Fatalf("capacity advert: %v", err)
	}
	ad, err := sluice.DecodeAdvert(entry.Value())
	if err != nil || ad.GetState() != sluicepb.WorkerState_WORKER_STATE_RUNNING || ad.GetCapacity() != 4 || ad.GetLanguage() != "go" ||
		ad.GetTokenBatch() != 2 || len(ad.GetHandled()) != 1 {
		t.Errorf("advert %v (%v)", ad, err)
	}
	_ = worker.cmd.Process.Signal(syscall.SIGTERM)
	sluicetest.Eventually(t, 15*time.Second, "worker exit after SIGTERM", worker.exited)
	if worker.err != nil {
		t.Errorf("worker exit: %v", worker.err)
	}
	if d := worker.events("done"); len(d) != 1 || d[0].num("processed") != nOK+nFail {
		t.Errorf("worker done events %v", d)
	}
	if _, err := capKV.Get(ctx, sluice.CapacityKey(q, "gw1")); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("advert still present after shutdown (%v)", err)
	}
}

func TestMissingTopologyIsAnError(t *testing.T) {
	url := sluicetest.Run(t)
	p := startPeer(t, "produce", "--server", url, "--queue", "absent", "--producer-id", "gp9", "--count", "1")
	sluicetest.Eventually(t, 20*time.Second, "producer exit", p.exited)
	if p.err == nil {
		t.Fatal("producer exited 0 without topology")
	}
	errs := p.events("error")
	if len(errs) != 1 || !strings.Contains(errs[0].str("message"), "SLUICE_Q_absent") ||
		!strings.Contains(errs[0].str("message"), "provisioning") {
		t.Errorf("error events %v", errs)
	}
}

func TestProducerWithoutCreditsTimesOut(t *testing.T) {
	url := sluicetest.Run(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	provision(t, ctx, js, "dry")
	p := startPeer(t, "produce", "--server", url, "--queue", "dry", "--producer-id", "gp8", "--count", "1", "--acquire-timeout-ms", "600")
	sluicetest.Eventually(t, 20*time.Second, "producer exit", p.exited)
	if p.err == nil {
		t.Fatal("producer without credits exited 0")
	}
	if errs := p.events("error"); len(errs) != 1 || !strings.Contains(errs[0].str("message"), "no live workers") {
		t.Errorf("error events %v", errs)
	}
	ws, _ := js.Stream(ctx, sluice.WorkStream("dry"))
	if info, err := ws.Info(ctx); err != nil || info.State.Msgs != 0 {
		t.Errorf("work stream holds messages without credits (%v)", err)
	}
	ctl, _ := js.KeyValue(ctx, sluice.ControlBucket)
	if _, err := ctl.Get(ctx, sluice.ProducerReportKey("dry", "gp8")); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("report still present (%v)", err)
	}
}

func TestProducerStopsAtTheHardWall(t *testing.T) {
	url := sluicetest.Run(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	provision(t, ctx, js, "wall")
	ws, _ := js.Stream(ctx, sluice.WorkStream("wall"))
	cfg := ws.CachedInfo().Config
	cfg.MaxMsgs = 2
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, sluice.CreditSubject("wall", 4), nil); err != nil {
		t.Fatal(err)
	}
	p := startPeer(t, "produce", "--server", url, "--queue", "wall", "--producer-id", "gp7", "--count", "3", "--acquire-timeout-ms", "800")
	sluicetest.Eventually(t, 20*time.Second, "producer exit", p.exited)
	if p.err == nil {
		t.Fatal("producer exited 0 past the hard wall")
	}
	if errs := p.events("error"); len(errs) != 1 || !strings.Contains(errs[0].str("message"), "hard limit") {
		t.Errorf("error events %v", errs)
	}
	if sent := p.events("sent"); len(sent) != 2 {
		t.Errorf("%d sent events, want 2", len(sent))
	}
	// The token was partly spent (2 of 4; the third reservation refunded): it is acked and the
	// unspent 2 are left to a reconciler (§6.7 [v1.1]): the producer publishes no token.
	if ret := p.events("returned"); len(ret) != 1 || ret[0].num("unspent") != 2 {
		t.Errorf("returned events %v, want one with unspent 2", ret)
	}
	sluicetest.Eventually(t, 10*time.Second, "the token acked", func() bool {
		tk, err := storedCredits(ctx, js, "wall")
		return err == nil && tk == 0
	})
}

func TestWorkerRejectsWhatItCannotHandle(t *testing.T) {
	url := sluicetest.Run(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	provision(t, ctx, js, "odd")
	w := startPeer(t, "worker", "--server", url, "--queue", "odd", "--worker-id", "gw2", "--grace-ms", "300", "--grace-delay-ms", "100")
	sluicetest.Eventually(t, 15*time.Second, "worker ready", func() bool { return len(w.events("ready")) == 1 || w.exited() })

	// Published directly, without credits: the worker settles whatever is in the backlog.
	pub := func(id, typ, body string, drop string) {
		h := nats.Header{sluice.HdrMsgID: {id}, sluice.HdrProtocol: {"1"}, sluice.HdrType: {typ}, sluice.HdrTypeVersion: {"1"}}
		delete(h, drop)
		if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: sluice.WorkSubject("odd"), Header: h, Data: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	pub("other-1", "acme.Other", `{"seq": 1, "behavior": "ok"}`, "")
	pub("nohdr-1", "sluice.conformance.Work", `{"seq": 2, "behavior": "ok"}`, sluice.HdrTypeVersion)
	pub("junk-1", "sluice.conformance.Work", `not json`, "")
	pub("dup-1", "sluice.conformance.Work", `{"seq": 4, "behavior": "ok"}`, "")
	sluicetest.Eventually(t, 15*time.Second, "four messages settled", func() bool {
		return len(w.events("dead_lettered")) >= 3 && len(w.events("processed")) >= 1
	})
	reasons := map[string]string{}
	for _, e := range w.events("dead_lettered") {
		reasons[e.str("msg_id")] = e.str("reason")
	}
	want := map[string]string{"other-1": "unknown-type", "nohdr-1": "missing-header", "junk-1": "decode-error"}
	for id, r := range want {
		if reasons[id] != r {
			t.Errorf("%s dead-lettered as %q, want %q", id, reasons[id], r)
		}
	}
	naks := w.events("nak")
	if len(naks) == 0 {
		t.Error("no grace NAK for the unknown type")
	}
	for _, e := range naks {
		if e.str("msg_id") != "other-1" || e.str("reason") != "not-handled" || e.num("delay_ms") != 100 {
			t.Errorf("nak event %v", e)
		}
	}
	// Four finished deliveries owe four credits, minted after the linger.
	sluicetest.Eventually(t, 10*time.Second, "four credits minted", func() bool {
		tk, err := storedCredits(ctx, js, "odd")
		return err == nil && tk == 4
	})
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	sluicetest.Eventually(t, 15*time.Second, "worker exit", w.exited)
	if w.err != nil {
		t.Errorf("worker exit: %v", w.err)
	}
}
