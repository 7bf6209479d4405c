package main

import (
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"sluice.dev/peers/go/sluice"
)

// The wire floor: the raw pipeline carrying Sluice's bytes and nothing of Sluice's work, so that
// (raw-wire − raw) is what the header block costs every implementation of the protocol, and
// (sluice − raw-wire) is what the library adds on top of it (credits, hand-offs, validation,
// idempotency, trace context). raw-compact is a measurement only, not a protocol form: the same
// information in one header, to price a compact wire. raw-bounded is raw-wire held to the
// workload's window by a local semaphore: flow control with no credit traffic, so that
// (raw-bounded − raw-wire) is what bounding the flow costs by itself (raw's backlog grows without
// bound) and (sluice − raw-bounded) is what Sluice's credits and per-message work cost beyond it.

// wireStyle is what one raw pipeline puts in each publish's headers and reads from each
// delivery's before acking.
type wireStyle struct {
	// header sets the headers of a publish of message id on msg (whose Header is nil); what it
	// returns, if not nil, goes back to its pool (release) once the publish is over.
	header func(msg *nats.Msg, id string) *floorHeader
	// read looks up what a worker must read of a delivery's headers; false if any is missing.
	read func(h nats.Header) bool
	// bounded: at most the workload's window published and not yet acked (startRaw).
	bounded bool
	// fetch: consumed with pull requests for the free slots, as the Sluice worker (fetch.go).
	fetch bool
}

// The two fixed styles; pipelineStyle builds the others.
var (
	// styleRaw: Nats-Msg-Id only (publish de-duplication), nothing read.
	styleRaw = wireStyle{
		header: func(msg *nats.Msg, id string) *floorHeader {
			msg.Header = nats.Header{sluice.HdrMsgID: {id}}
			return nil
		},
		read: func(nats.Header) bool { return true }}
	// styleNoID: no header at all (no de-duplication); run only when asked (--pipelines raw-noid).
	styleNoID = wireStyle{
		header: func(*nats.Msg, string) *floorHeader { return nil },
		read:   func(nats.Header) bool { return true }}
)

// floorProducer is the Sluice-Producer value of a floor pipeline, shaped as the Go producer's
// default id ("go-" and 12 hex digits).
func floorProducer() string {
	var b [12]byte
	fillHex(b[:])
	return "go-" + string(b[:])
}

// styleWire: the header block the Go producer sends for a bench message (the bench's Sluice
// pipeline: type bench.Msg version 1, no Content-Type, an unsampled traceparent as with no
// tracing configured), and on delivery the lookups §3 makes of a worker: the four required
// headers and the trace context it continues. No validation beyond presence: the format checks
// are the library's work, counted in (sluice − raw-wire).
func styleWire() wireStyle {
	producer := floorProducer()
	return wireStyle{
		header: func(msg *nats.Msg, id string) *floorHeader {
			h := pooledHeader(msg)
			h.set(sluice.HdrMsgID, id)
			h.set(sluice.HdrProtocol, "1")
			h.set(sluice.HdrType, "bench.Msg")
			h.set(sluice.HdrTypeVersion, "1")
			h.set(sluice.HdrProducer, producer)
			h.set(sluice.HdrSentAt, strconv.FormatInt(time.Now().UnixMilli(), 10))
			h.set(sluice.HdrTraceparent, unsampledTraceparent())
			return h
		},
		read: func(h nats.Header) bool {
			ok := true
			for _, name := range [...]string{sluice.HdrMsgID, sluice.HdrProtocol, sluice.HdrType, sluice.HdrTypeVersion} {
				ok = ok && sluice.First(h, name) != ""
			}
			_ = sluice.First(h, sluice.HdrTraceparent)
			return ok
		}}
}

// compactHeader is the one header of raw-compact: "1;<type>;<type-version>;<producer>;<sent-at-ms>".
const compactHeader = "Sluice"

// styleCompact: Nats-Msg-Id, traceparent and compactHeader; on delivery the same lookups, the
// compact header split into its five fields.
func styleCompact() wireStyle {
	prefix := "1;bench.Msg;1;" + floorProducer() + ";"
	return wireStyle{
		header: func(msg *nats.Msg, id string) *floorHeader {
			h := pooledHeader(msg)
			h.set(sluice.HdrMsgID, id)
			h.set(sluice.HdrTraceparent, unsampledTraceparent())
			h.set(compactHeader, prefix+strconv.FormatInt(time.Now().UnixMilli(), 10))
			return h
		},
		read: func(h nats.Header) bool {
			v := sluice.First(h, compactHeader)
			fields := 0
			for ; v != ""; fields++ {
				var field string
				field, v, _ = strings.Cut(v, ";")
				if field == "" {
					return false
				}
			}
			_ = sluice.First(h, sluice.HdrTraceparent)
			return fields == 5 && sluice.First(h, sluice.HdrMsgID) != ""
		}}
}

// floorHeader is a publish's header map with the backing array of its values, pooled as the Go
// producer pools its own (nats.go copies a publish into its buffer before PublishMsg returns),
// so that the floor's client side pays for the bytes, not for map allocations the library
// avoids.
type floorHeader struct {
	h    nats.Header
	vals [7]string
	n    int
}

var floorHeaders = sync.Pool{New: func() any { return &floorHeader{h: make(nats.Header, 8)} }}

func pooledHeader(msg *nats.Msg) *floorHeader {
	fh := floorHeaders.Get().(*floorHeader)
	msg.Header = fh.h
	return fh
}

func (fh *floorHeader) set(k, v string) {
	fh.vals[fh.n] = v
	fh.h[k] = fh.vals[fh.n : fh.n+1 : fh.n+1]
	fh.n++
}

// release returns a finished publish's header to the pool, emptied.
func (fh *floorHeader) release() {
	clear(fh.h)
	fh.vals, fh.n = [7]string{}, 0
	floorHeaders.Put(fh)
}

// unsampledTraceparent returns a new trace's traceparent with flags 00, as the Go producer
// writes one (one allocation).
func unsampledTraceparent() string {
	var b [55]byte
	copy(b[:], "00-")
	fillHex(b[3:35])
	b[35] = '-'
	fillHex(b[36:52])
	copy(b[52:], "-00")
	return string(b[:])
}

const hexDigits = "0123456789abcdef"

// fillHex fills dst with random lowercase hex digits (math/rand/v2, as the library's trace ids).
func fillHex(dst []byte) {
	for i := 0; i < len(dst); i += 16 {
		v := mrand.Uint64()
		for j := i; j < min(i+16, len(dst)); j++ {
			dst[j] = hexDigits[v&15]
			v >>= 4
		}
	}
}

// pipelineOrder is the order a round runs the pipelines in; defaultPipelines are those run
// when --pipelines is not given.
var (
	pipelineOrder    = []string{"raw-noid", "raw", "raw-wire", "raw-compact", "raw-bounded", "raw-fetch", "sluice"}
	defaultPipelines = "raw,raw-wire,raw-compact,raw-bounded,sluice"
)

// pipelineStyle returns the raw pipeline name's wire style (a new producer id each time).
func pipelineStyle(name string) wireStyle {
	switch name {
	case "raw-noid":
		return styleNoID
	case "raw-wire":
		return styleWire()
	case "raw-compact":
		return styleCompact()
	case "raw-bounded":
		s := styleWire()
		s.bounded = true
		return s
	case "raw-fetch":
		s := styleWire()
		s.bounded, s.fetch = true, true
		return s
	}
	return styleRaw
}

// selectPipelines parses --pipelines (comma-separated names) into pipelineOrder's order.
func selectPipelines(list string) ([]string, error) {
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var out []string
	for _, n := range pipelineOrder {
		if want[n] {
			out = append(out, n)
			delete(want, n)
		}
	}
	for n := range want {
		return nil, fmt.Errorf("unknown pipeline %q (known: %s)", n, strings.Join(pipelineOrder, ", "))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no pipeline selected")
	}
	return out, nil
}
