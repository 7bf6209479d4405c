// Package peer implements the worker and producer roles of the conformance peer
// (peers/README.md) on the sluice/v1 rules.
package peer

import (
	"encoding/json"
	"io"
	"sync"
)

// Lang is the language reported in events and adverts.
const Lang = "go"

// Events writes JSON-lines events, one object per line, safe for concurrent use.
type Events struct {
	mu sync.Mutex
	w  io.Writer
}

// NewEvents returns an event writer on w.
func NewEvents(w io.Writer) *Events { return &Events{w: w} }

// Emit writes one event; v must marshal to a JSON object with an "event" field.
func (e *Events) Emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(b)
}

// ReadyEvent is emitted once a peer is connected and has found its topology.
type ReadyEvent struct {
	Event string `json:"event"`
	Role  string `json:"role"`
	ID    string `json:"id"`
	Lang  string `json:"lang"`
}

// ProcessedEvent is emitted after a handler succeeded and the ack was confirmed.
type ProcessedEvent struct {
	Event   string `json:"event"`
	ID      string `json:"id"`
	MsgID   string `json:"msg_id"`
	Seq     int64  `json:"seq"`
	Attempt int    `json:"attempt"`
	TraceID string `json:"trace_id"`
	Type    string `json:"type"`
	Version int    `json:"version"`
	Lang    string `json:"lang"`
}

// DeadLetteredEvent is emitted after a record was stored and the message termed.
type DeadLetteredEvent struct {
	Event   string `json:"event"`
	ID      string `json:"id"`
	MsgID   string `json:"msg_id"`
	Reason  string `json:"reason"`
	Attempt int    `json:"attempt"`
	Lang    string `json:"lang"`
}

// NakEvent is emitted after a NAK was sent.
type NakEvent struct {
	Event   string `json:"event"`
	ID      string `json:"id"`
	MsgID   string `json:"msg_id"`
	Attempt int    `json:"attempt"`
	DelayMs int64  `json:"delay_ms"`
	Reason  string `json:"reason"`
}

// SentEvent is emitted after a work message's PubAck.
type SentEvent struct {
	Event     string `json:"event"`
	ID        string `json:"id"`
	MsgID     string `json:"msg_id"`
	Seq       int64  `json:"seq"`
	TraceID   string `json:"trace_id"`
	StreamSeq uint64 `json:"stream_seq"`
}

// DoneEvent is emitted when a peer finishes; exactly one of Sent and Processed is set.
// ReturnedEvent is emitted after a partly spent token was acked on its return (§6.7 [v1.1]): its
// unspent credits left circulation and a reconciler mints them back.
type ReturnedEvent struct {
	Event   string `json:"event"`
	ID      string `json:"id"`
	Unspent uint32 `json:"unspent"`
}

type DoneEvent struct {
	Event     string `json:"event"`
	ID        string `json:"id"`
	Sent      *int64 `json:"sent,omitempty"`
	Processed *int64 `json:"processed,omitempty"`
}

// ErrorEvent reports a fatal error.
type ErrorEvent struct {
	Event   string `json:"event"`
	Message string `json:"message"`
}

// HealthEvent reports a change of a worker's health (§8.4): "failing" with the reason while
// dead-letter records cannot be written, "ok" once one is written again.
type HealthEvent struct {
	Event  string `json:"event"`
	ID     string `json:"id"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}
