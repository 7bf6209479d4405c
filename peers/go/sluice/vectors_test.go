package sluice

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "sluice.dev/peers/go/sluicepb"
)

// vectorsDir finds protocol/vectors by walking up from the package directory.
func vectorsDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("SLUICE_VECTORS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "protocol", "vectors")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("protocol/vectors not found above " + dir)
		}
		dir = parent
	}
}

func load(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorsDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// vectorTests maps every vector file to its test; a file without a test fails the suite.
var vectorTests = map[string]func(*testing.T){
	"backoff.json":     testBackoff,
	"credits.json":     testCredits,
	"dlq.json":         testDLQ,
	"dlq_reduced.json": testDLQReduced,
	"headers.json":     testHeaders,
	"idempotency.json": testIdempotency,
	"outcomes.json":    testOutcomes,
	"protobuf.json":    testProtobuf,
	"pushback.json":    testPushback, // §15.1
}

func TestVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(vectorsDir(t), "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no vector files")
	}
	for _, f := range files {
		name := filepath.Base(f)
		fn, ok := vectorTests[name]
		if !ok {
			t.Errorf("vector file %s has no test in this peer", name)
			continue
		}
		t.Run(strings.TrimSuffix(name, ".json"), fn)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6 }

func testBackoff(t *testing.T) {
	var doc struct {
		Cases []struct {
			Params   Backoff `json:"params"`
			Attempts []struct {
				Attempt int     `json:"attempt"`
				DelayMs float64 `json:"delay_ms"`
				MinMs   float64 `json:"min_ms"`
				MaxMs   float64 `json:"max_ms"`
				AtU     []struct {
					U       float64 `json:"u"`
					DelayMs float64 `json:"delay_ms"`
					DelayNs int64   `json:"delay_ns"`
				} `json:"at_u"`
			} `json:"attempts"`
		} `json:"cases"`
	}
	load(t, "backoff.json", &doc)
	n := 0
	for _, c := range doc.Cases {
		for _, a := range c.Attempts {
			if got := c.Params.Base(a.Attempt); !near(got, a.DelayMs) {
				t.Errorf("%+v k=%d: d(k)=%v want %v", c.Params, a.Attempt, got, a.DelayMs)
			}
			lo, hi := c.Params.Bounds(a.Attempt)
			if !near(lo, a.MinMs) || !near(hi, a.MaxMs) {
				t.Errorf("%+v k=%d: bounds %v..%v want %v..%v", c.Params, a.Attempt, lo, hi, a.MinMs, a.MaxMs)
			}
			for _, u := range a.AtU {
				if got := c.Params.Delay(a.Attempt, u.U); !near(got, u.DelayMs) {
					t.Errorf("%+v k=%d u=%v: delay %v want %v", c.Params, a.Attempt, u.U, got, u.DelayMs)
				}
				if got := NakDelay(c.Params.Delay(a.Attempt, u.U)); int64(got) != u.DelayNs {
					t.Errorf("%+v k=%d u=%v: NAK delay %d ns want %d", c.Params, a.Attempt, u.U, int64(got), u.DelayNs)
				}
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no backoff cases")
	}
}

func testCredits(t *testing.T) {
	var doc struct {
		Decompose []struct {
			Credits uint32   `json:"credits"`
			Batch   uint32   `json:"batch"`
			Tokens  []uint32 `json:"tokens"`
		} `json:"decompose"`
		Window []struct {
			Name     string `json:"name"`
			Now      int64  `json:"now_unix_ms"`
			Standing uint32 `json:"standing_buffer"`
			MaxCap   uint32 `json:"max_worker_capacity"`
			MaxWin   uint32 `json:"max_window"`
			Adverts  []struct {
				Capacity  uint32 `json:"capacity"`
				State     string `json:"state"`
				Heartbeat int64  `json:"heartbeat_unix_ms"`
				TTL       uint32 `json:"ttl_ms"`
			} `json:"adverts"`
			Window uint64 `json:"window"`
		} `json:"window"`
		Reconcile []struct {
			Name      string `json:"name"`
			Window    int64  `json:"window"`
			Backlog   int64  `json:"backlog"`
			Tokens    int64  `json:"tokens"`
			HeldSpent int64  `json:"held_spent"`
			Owed      int64  `json:"owed"`
			Previous  int64  `json:"previous_deficit"`
			Deficit   int64  `json:"deficit"`
			Action    string `json:"action"`
			Credits   int64  `json:"credits"`
			LiveProds int64  `json:"live_producers"`
			Batch     int64  `json:"token_batch"`
			// [v1.3]: 0 where absent (the rule of revision 1.2).
			HeldTokens int64 `json:"held_tokens"`
			Burn       int64 `json:"burn"`
		} `json:"reconcile"`
		Linger []struct {
			Batch    uint32  `json:"batch"`
			Rate     float64 `json:"service_rate"`
			LingerMs int64   `json:"linger_ms"`
		} `json:"linger"`
		ServiceRate []struct {
			Name       string `json:"name"`
			Heartbeats []struct {
				DtMs      float64 `json:"dt_ms"`
				Completed uint64  `json:"completed"`
				Rate      float64 `json:"service_rate"`
			} `json:"heartbeats"`
		} `json:"service_rate"`
		TokenIDs []struct {
			MinterID *string `json:"minter_id"`
			Nonce    string  `json:"nonce"`
			Counter  uint64  `json:"counter"`
			MsgID    string  `json:"msg_id"`
			Valid    bool    `json:"valid"`
		} `json:"token_ids"`
		TokenIDPattern string `json:"token_id_pattern"`
		Effective      []struct {
			Batch     uint32 `json:"batch"`
			Capacity  uint32 `json:"capacity"`
			Effective uint32 `json:"effective_batch"`
		} `json:"effective_batch"`
		MintBack []struct {
			Token    uint32   `json:"token"`
			Need     uint32   `json:"need"`
			Batch    uint32   `json:"batch"`
			MintBack []uint32 `json:"mint_back"`
		} `json:"mint_back"`
		Names []struct {
			Queue       string `json:"queue"`
			Credits     uint32 `json:"credits"`
			Subject     string `json:"subject"`
			Consumer    string `json:"consumer"`
			WorkStream  string `json:"work_stream"`
			WorkSubject string `json:"work_subject"`
			DLQSubject  string `json:"dlq_subject"`
		} `json:"names"`
	}
	load(t, "credits.json", &doc)
	if len(doc.Decompose) == 0 || len(doc.Window) == 0 || len(doc.Reconcile) == 0 || len(doc.Names) == 0 {
		t.Fatal("a credits.json section is empty")
	}
	for _, c := range doc.Decompose {
		got := Decompose(c.Credits, c.Batch)
		if !reflect.DeepEqual(got, append([]uint32{}, c.Tokens...)) {
			t.Errorf("decompose(%d, %d) = %v want %v", c.Credits, c.Batch, got, c.Tokens)
		}
	}
	for _, c := range doc.Window {
		var ads []AdvertView
		for _, a := range c.Adverts {
			ads = append(ads, AdvertView{Capacity: a.Capacity, Running: a.State == "RUNNING", HeartbeatUnixMs: a.Heartbeat, TTLMs: a.TTL})
		}
		if got := Window(c.Standing, Bounds{MaxWorkerCapacity: c.MaxCap, MaxWindow: c.MaxWin}, ads, c.Now); got != c.Window {
			t.Errorf("window %q = %d want %d", c.Name, got, c.Window)
		}
	}
	for _, c := range doc.Reconcile {
		d := Deficit(c.Window, c.Backlog, c.Tokens, c.HeldSpent, c.Owed)
		if d != c.Deficit {
			t.Errorf("reconcile %q: deficit %d want %d", c.Name, d, c.Deficit)
		}
		a := Reconcile(d, c.Previous)
		if a.Kind != c.Action || a.Credits != c.Credits {
			t.Errorf("reconcile %q: %+v want %s %d", c.Name, a, c.Action, c.Credits)
		}
		burn := int64(0)
		if a.Kind == "burn" {
			burn = BurnAmount(a.Credits, c.LiveProds, c.Batch, c.HeldTokens, c.HeldSpent)
		}
		if burn != c.Burn {
			t.Errorf("reconcile %q: burn %d want %d", c.Name, burn, c.Burn)
		}
	}
	if len(doc.Linger) == 0 || len(doc.ServiceRate) == 0 || len(doc.TokenIDs) == 0 || len(doc.MintBack) == 0 {
		t.Fatal("a [v1.2] credits.json section is empty")
	}
	for _, c := range doc.Linger {
		if got := LingerMs(c.Batch, c.Rate); got != c.LingerMs {
			t.Errorf("linger(%d, %v) = %d want %d", c.Batch, c.Rate, got, c.LingerMs)
		}
	}
	for _, c := range doc.ServiceRate {
		rate := 0.0
		for _, h := range c.Heartbeats {
			rate = ServiceRate(rate, h.Completed, h.DtMs/1000)
			if math.Abs(rate-h.Rate) > 1e-9*h.Rate+1e-12 {
				t.Errorf("service rate %q: %v want %v", c.Name, rate, h.Rate)
			}
		}
	}
	if TokenIDPattern.String() != doc.TokenIDPattern {
		t.Errorf("token id pattern %q want %q", TokenIDPattern, doc.TokenIDPattern)
	}
	for _, c := range doc.TokenIDs {
		if c.MinterID != nil {
			if got := TokenID(*c.MinterID, c.Nonce, c.Counter); got != c.MsgID {
				t.Errorf("token id %q want %q", got, c.MsgID)
			}
		}
		if TokenIDPattern.MatchString(c.MsgID) != c.Valid {
			t.Errorf("token id %q: valid %v", c.MsgID, c.Valid)
		}
	}
	if len(doc.Effective) == 0 {
		t.Fatal("no effective_batch cases")
	}
	for _, c := range doc.Effective {
		if got := EffectiveBatch(c.Batch, c.Capacity); got != c.Effective {
			t.Errorf("b'(%d, capacity %d) = %d want %d", c.Batch, c.Capacity, got, c.Effective)
		}
	}
	for _, c := range doc.MintBack {
		if got := Decompose(c.Token-c.Need, c.Batch); !reflect.DeepEqual(got, append([]uint32{}, c.MintBack...)) {
			t.Errorf("mint back %d of %d (b %d) = %v want %v", c.Token-c.Need, c.Token, c.Batch, got, c.MintBack)
		}
	}
	for _, c := range doc.Names {
		if !ValidQueue(c.Queue) {
			t.Errorf("queue %q rejected", c.Queue)
		}
		if got := CreditSubject(c.Queue, c.Credits); got != c.Subject {
			t.Errorf("credit subject %q want %q", got, c.Subject)
		}
		if TokenValue(c.Subject) != c.Credits {
			t.Errorf("token value of %q = %d want %d", c.Subject, TokenValue(c.Subject), c.Credits)
		}
		if got := CreditConsumer(c.Queue); got != c.Consumer {
			t.Errorf("consumer %q want %q", got, c.Consumer)
		}
		if got := WorkStream(c.Queue); got != c.WorkStream {
			t.Errorf("work stream %q want %q", got, c.WorkStream)
		}
		if got := WorkSubject(c.Queue); got != c.WorkSubject {
			t.Errorf("work subject %q want %q", got, c.WorkSubject)
		}
		if got := DLQSubject(c.Queue); got != c.DLQSubject {
			t.Errorf("dlq subject %q want %q", got, c.DLQSubject)
		}
	}
}

func hdr(m map[string]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range m {
		out[k] = []string{v}
	}
	return out
}

func flat(m map[string][]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if len(v) != 1 {
			out[k] = strings.Join(v, "\x00")
			continue
		}
		out[k] = v[0]
	}
	return out
}

func testHeaders(t *testing.T) {
	var doc struct {
		Supported int `json:"supported_protocol"`
		Cases     []struct {
			Name    string            `json:"name"`
			Headers map[string]string `json:"headers"`
			Expect  struct {
				Valid      bool   `json:"valid"`
				Reason     string `json:"reason"`
				Header     string `json:"header"`
				Protocol   int    `json:"protocol"`
				Type       string `json:"type"`
				Version    int    `json:"version"`
				TraceValid bool   `json:"trace_valid"`
				NotHandled string `json:"not_handled_reason"`
			} `json:"expect"`
		} `json:"cases"`
	}
	load(t, "headers.json", &doc)
	if len(doc.Cases) == 0 {
		t.Fatal("no header cases")
	}
	for _, c := range doc.Cases {
		got := ValidateHeaders(hdr(c.Headers), doc.Supported)
		e := c.Expect
		want := HeaderCheck{Valid: e.Valid, Reason: e.Reason, Header: e.Header, Protocol: e.Protocol, Type: e.Type,
			Version: e.Version, TraceValid: e.TraceValid, NotHandledReason: e.NotHandled}
		if got != want {
			t.Errorf("%s: got %+v want %+v", c.Name, got, want)
		}
	}
	// A repeated header uses its first value.
	h := hdr(doc.Cases[0].Headers)
	h[HdrProtocol] = []string{"1", "garbage"}
	if got := ValidateHeaders(h, 1); !got.Valid {
		t.Errorf("first value of a repeated header not used: %+v", got)
	}
	var more struct {
		Repeated []struct {
			Name    string      `json:"name"`
			Headers [][2]string `json:"headers"`
			Expect  struct {
				Valid      bool   `json:"valid"`
				Reason     string `json:"reason"`
				Header     string `json:"header"`
				Protocol   int    `json:"protocol"`
				Type       string `json:"type"`
				Version    int    `json:"version"`
				TraceValid bool   `json:"trace_valid"`
				NotHandled string `json:"not_handled_reason"`
			} `json:"expect"`
		} `json:"repeated"`
		MessageSize []struct {
			Name          string            `json:"name"`
			Headers       map[string]string `json:"headers"`
			PayloadLength int64             `json:"payload_length"`
			MaxMsgSize    int64             `json:"max_msg_size"`
			HeaderSize    int64             `json:"header_size"`
			Fits          bool              `json:"fits"`
		} `json:"message_size"`
	}
	load(t, "headers.json", &more)
	if len(more.Repeated) == 0 || len(more.MessageSize) == 0 {
		t.Fatal("a [v1.2] headers.json section is empty")
	}
	for _, c := range more.Repeated {
		h := map[string][]string{}
		for _, kv := range c.Headers {
			h[kv[0]] = append(h[kv[0]], kv[1])
		}
		e := c.Expect
		want := HeaderCheck{Valid: e.Valid, Reason: e.Reason, Header: e.Header, Protocol: e.Protocol, Type: e.Type,
			Version: e.Version, TraceValid: e.TraceValid, NotHandledReason: e.NotHandled}
		if got := ValidateHeaders(h, doc.Supported); got != want {
			t.Errorf("%s: got %+v want %+v", c.Name, got, want)
		}
	}
	for _, c := range more.MessageSize {
		size := HeaderSize(hdr(c.Headers))
		fits := CheckSize(hdr(c.Headers), int(c.PayloadLength), "SLUICE_Q_v", c.MaxMsgSize, 1<<20) == nil
		if size != c.HeaderSize || fits != c.Fits {
			t.Errorf("%s: header size %d (want %d), fits %v (want %v)", c.Name, size, c.HeaderSize, fits, c.Fits)
		}
	}
}

func testIdempotency(t *testing.T) {
	var doc struct {
		Queue string `json:"queue"`
		Cases []struct {
			MsgID    string `json:"msg_id"`
			IDKey    string `json:"id_key"`
			StoreKey string `json:"store_key"`
		} `json:"cases"`
	}
	load(t, "idempotency.json", &doc)
	if len(doc.Cases) == 0 {
		t.Fatal("no idempotency cases")
	}
	for _, c := range doc.Cases {
		if got := IDKey(c.MsgID); got != c.IDKey {
			t.Errorf("id-key(%q) = %q want %q", c.MsgID, got, c.IDKey)
		}
		if got := ProcessedKey(doc.Queue, c.MsgID); got != c.StoreKey {
			t.Errorf("store key(%q) = %q want %q", c.MsgID, got, c.StoreKey)
		}
	}
}

func testOutcomes(t *testing.T) {
	var doc struct {
		Cases []struct {
			Name          string            `json:"name"`
			Settings      WorkerSettings    `json:"settings"`
			Handled       []HandledType     `json:"handled"`
			Headers       map[string]string `json:"headers"`
			PayloadSize   int               `json:"payload_size"`
			DeliveryCount int               `json:"delivery_count"`
			AgeMs         int64             `json:"age_ms"`
			Processed     bool              `json:"processed_before"`
			Decodes       bool              `json:"decodes"`
			HandlerResult string            `json:"handler_result"`
			FleetHandles  bool              `json:"fleet_handles"`  // absent = false
			FleetDeclines bool              `json:"fleet_declines"` // absent = false
			Expect        struct {
				Outcome     string   `json:"outcome"`
				Reason      string   `json:"reason"`
				Error       *string  `json:"error"`
				HandlerRuns bool     `json:"handler_runs"`
				Duplicate   bool     `json:"duplicate"`
				DelayMs     *float64 `json:"delay_ms"`
				DelayMinMs  *float64 `json:"delay_min_ms"`
				DelayMaxMs  *float64 `json:"delay_max_ms"`
			} `json:"expect"`
		} `json:"cases"`
	}
	load(t, "outcomes.json", &doc)
	if len(doc.Cases) == 0 {
		t.Fatal("no outcome cases")
	}
	for _, c := range doc.Cases {
		asked := false
		fleet, declines := c.FleetHandles, c.FleetDeclines
		d := Delivery{Headers: hdr(c.Headers), PayloadSize: c.PayloadSize, K: c.DeliveryCount, AgeMs: c.AgeMs,
			FleetHandles:  func(HeaderCheck) bool { return fleet },
			FleetDeclines: func(HeaderCheck) bool { return declines }}
		dec, _ := BeforeHandler(d, c.Settings, c.Handled, func(string) bool { asked = true; return c.Processed })
		if dec.Kind == OutcomeRun {
			if !c.Decodes {
				dec = Decision{Kind: OutcomeDLQ, Reason: ReasonDecodeError}
			} else {
				// u = 0.5 gives the jitter-free delay; the bounds are checked with u at both ends.
				dec = AfterHandler(c.HandlerResult, "handler error", c.DeliveryCount, c.Settings, 0.5)
				if dec.Kind == OutcomeNak {
					lo := AfterHandler(c.HandlerResult, "", c.DeliveryCount, c.Settings, 0).DelayMs
					hi := AfterHandler(c.HandlerResult, "", c.DeliveryCount, c.Settings, math.Nextafter(1, 0)).DelayMs
					if c.Expect.DelayMinMs == nil || c.Expect.DelayMaxMs == nil ||
						!near(lo, *c.Expect.DelayMinMs) || math.Abs(hi-*c.Expect.DelayMaxMs) > 1e-6 {
						t.Errorf("%s: nak delay range %v..%v want %v..%v", c.Name, lo, hi, c.Expect.DelayMinMs, c.Expect.DelayMaxMs)
					}
				}
			}
		}
		e := c.Expect
		if dec.Kind != e.Outcome || dec.Reason != e.Reason && e.Outcome == OutcomeDLQ ||
			dec.HandlerRuns != e.HandlerRuns || dec.Duplicate != e.Duplicate {
			t.Errorf("%s: got %+v want %+v", c.Name, dec, e)
		}
		if e.Error != nil && dec.Error != *e.Error {
			t.Errorf("%s: error %q want %q", c.Name, dec.Error, *e.Error)
		}
		if e.DelayMs != nil && !near(dec.DelayMs, *e.DelayMs) {
			t.Errorf("%s: delay %v want %v", c.Name, dec.DelayMs, *e.DelayMs)
		}
		if e.Duplicate && !asked {
			t.Errorf("%s: processed store not consulted", c.Name)
		}
	}
}

func testDLQ(t *testing.T) {
	var doc struct {
		Reasons []string `json:"reasons"`
		Records []struct {
			Name          string            `json:"name"`
			Queue         string            `json:"queue"`
			Stream        string            `json:"stream"`
			StreamSeq     uint64            `json:"stream_seq"`
			Subject       string            `json:"subject"`
			DeliveryCount int               `json:"delivery_count"`
			WorkerID      string            `json:"worker_id"`
			At            int64             `json:"at_unix_ms"`
			Reason        string            `json:"reason"`
			Error         string            `json:"error"`
			Original      map[string]string `json:"original_headers"`
			RecordSubject string            `json:"record_subject"`
			RecordHeaders map[string]string `json:"record_headers"`
		} `json:"records"`
		Replays []struct {
			Name          string            `json:"name"`
			DLQSeq        uint64            `json:"dlq_stream_seq"`
			RecordHeaders map[string]string `json:"record_headers"`
			ReplaySubject string            `json:"replay_subject"`
			ReplayHeaders map[string]string `json:"replay_headers"`
		} `json:"replays"`
		ErrorMaxChars int `json:"error_max_chars"`
	}
	load(t, "dlq.json", &doc)
	if !reflect.DeepEqual(doc.Reasons, Reasons) {
		t.Errorf("reasons %v want %v", Reasons, doc.Reasons)
	}
	if doc.ErrorMaxChars != MaxErrorChars {
		t.Errorf("error max chars %d want %d", MaxErrorChars, doc.ErrorMaxChars)
	}
	if got := TruncateError(strings.Repeat("é", 2000)); len([]rune(got)) != doc.ErrorMaxChars {
		t.Errorf("truncated error has %d characters", len([]rune(got)))
	}
	if len(doc.Records) == 0 || len(doc.Replays) == 0 {
		t.Fatal("no dlq cases")
	}
	for _, r := range doc.Records {
		if WorkStream(r.Queue) != r.Stream || WorkSubject(r.Queue) != r.Subject || DLQSubject(r.Queue) != r.RecordSubject {
			t.Errorf("%s: names differ", r.Name)
		}
		got := RecordHeaders(hdr(r.Original), DeadLetter{Stream: r.Stream, StreamSeq: r.StreamSeq, Subject: r.Subject,
			Attempts: r.DeliveryCount, WorkerID: r.WorkerID, AtUnixMs: r.At, Reason: r.Reason, Error: r.Error})
		if !reflect.DeepEqual(flat(got), r.RecordHeaders) {
			t.Errorf("%s: record headers\n got %v\nwant %v", r.Name, sorted(flat(got)), sorted(r.RecordHeaders))
		}
	}
	for _, r := range doc.Replays {
		got := ReplayHeaders(hdr(r.RecordHeaders), r.DLQSeq)
		if !reflect.DeepEqual(flat(got), r.ReplayHeaders) {
			t.Errorf("%s: replay headers\n got %v\nwant %v", r.Name, sorted(flat(got)), sorted(r.ReplayHeaders))
		}
		if q := strings.TrimPrefix(r.ReplaySubject, "sluice.q."); WorkSubject(q) != r.ReplaySubject {
			t.Errorf("%s: replay subject %q", r.Name, r.ReplaySubject)
		}
	}
}

func sorted(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func testProtobuf(t *testing.T) {
	var doc struct {
		Cases []struct {
			Message string          `json:"message"`
			Fields  json.RawMessage `json:"fields"`
			Hex     string          `json:"hex"`
		} `json:"cases"`
	}
	load(t, "protobuf.json", &doc)
	if len(doc.Cases) == 0 {
		t.Fatal("no protobuf cases")
	}
	for i, c := range doc.Cases {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(c.Message))
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		// fields → message (proto names, enums by name), the reference for both directions.
		want := mt.New().Interface()
		if err := protojson.Unmarshal(c.Fields, want); err != nil {
			t.Errorf("case %d %s: fields: %v", i, c.Message, err)
			continue
		}
		wire, err := hex.DecodeString(c.Hex)
		if err != nil {
			t.Fatal(err)
		}
		got := mt.New().Interface()
		if err := Decode(wire, got); err != nil {
			t.Errorf("case %d %s: decode: %v", i, c.Message, err)
			continue
		}
		if !proto.Equal(got, want) {
			t.Errorf("case %d %s: decoded %v want %v", i, c.Message, got, want)
		}
		// The decoded message rendered with proto names must be exactly the vector's fields.
		js, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, js, c.Fields) {
			t.Errorf("case %d %s: decoded fields %s want %s", i, c.Message, js, c.Fields)
		}
		enc, err := Encode(want)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(enc) != c.Hex {
			t.Errorf("case %d %s: encoded %x want %s", i, c.Message, enc, c.Hex)
		}
	}
}

// sameJSON compares protojson output with vector fields, reading 64-bit integers rendered as
// strings as numbers.
func sameJSON(t *testing.T, a, b []byte) bool {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(normalize(x), normalize(y))
}

func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case string:
		var f json.Number = json.Number(v)
		if x, err := f.Float64(); err == nil && strings.Trim(v, "-0123456789") == "" {
			return x
		}
		return v
	}
	return v
}

func fill(pattern string, n int) string {
	return strings.Repeat(pattern, n/len(pattern)+1)[:n]
}

// testDLQReduced pins §8.4: which headers are dropped, in which order, where the payload is cut
// and with which length and digest.
func testDLQReduced(t *testing.T) {
	var doc struct {
		HeaderLimit int `json:"header_limit"`
		DroppedMax  int `json:"dropped_list_max_chars"`
		Cases       []struct {
			Name       string            `json:"name"`
			MaxPayload int64             `json:"max_payload"`
			Record     map[string]string `json:"record_headers"`
			Fills      map[string]struct {
				Pattern string `json:"pattern"`
				Length  int    `json:"length"`
			} `json:"record_header_fills"`
			PayloadPattern string            `json:"payload_pattern"`
			PayloadLength  int               `json:"payload_length"`
			PayloadSha     string            `json:"payload_sha256"`
			HeaderSize     int64             `json:"header_size"`
			Published      map[string]string `json:"published_headers"`
			PublishedNames []string          `json:"published_header_names"`
			PublishedSize  int64             `json:"published_header_size"`
			Dropped        []string          `json:"dropped_headers"`
			PubLength      int               `json:"published_payload_length"`
			PubSha         string            `json:"published_payload_sha256"`
		} `json:"cases"`
	}
	load(t, "dlq_reduced.json", &doc)
	if doc.HeaderLimit != HeaderLimit || doc.DroppedMax != DroppedListMaxChars {
		t.Errorf("limits %d %d", doc.HeaderLimit, doc.DroppedMax)
	}
	if len(doc.Cases) < 8 {
		t.Fatal("too few reduced-record cases")
	}
	for _, c := range doc.Cases {
		rec := hdr(c.Record)
		for k, f := range c.Fills {
			rec[k] = []string{fill(f.Pattern, f.Length)}
		}
		payload := []byte(fill(c.PayloadPattern, c.PayloadLength))
		if HeaderSize(rec) != c.HeaderSize {
			t.Errorf("%s: header size %d want %d", c.Name, HeaderSize(rec), c.HeaderSize)
		}
		r, err := ReduceRecord(rec, payload, c.MaxPayload)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if !reflect.DeepEqual(r.Dropped, c.Dropped) && !(len(r.Dropped) == 0 && len(c.Dropped) == 0) {
			t.Errorf("%s: dropped %v want %v", c.Name, r.Dropped, c.Dropped)
		}
		var names []string
		for k := range r.Headers {
			names = append(names, k)
		}
		sort.Strings(names)
		if !reflect.DeepEqual(names, c.PublishedNames) {
			t.Errorf("%s: names %v want %v", c.Name, names, c.PublishedNames)
		}
		for k, v := range c.Published {
			if First(r.Headers, k) != v {
				t.Errorf("%s: %s=%q want %q", c.Name, k, First(r.Headers, k), v)
			}
		}
		if HeaderSize(r.Headers) != c.PublishedSize || len(r.Payload) != c.PubLength {
			t.Errorf("%s: size %d/%d want %d/%d", c.Name, HeaderSize(r.Headers), len(r.Payload), c.PublishedSize, c.PubLength)
		}
		sum := sha256.Sum256(r.Payload)
		if hex.EncodeToString(sum[:]) != c.PubSha {
			t.Errorf("%s: published payload digest differs", c.Name)
		}
	}
}
