package sluice

import (
	"crypto/rand"
	"encoding/hex"
)

func randomHex(n int) string {
	for {
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		for _, c := range b {
			if c != 0 {
				return hex.EncodeToString(b)
			}
		}
	}
}

// NewTraceID returns a random non-zero 32-hex-digit trace id.
func NewTraceID() string { return randomHex(16) }

// NewSpanID returns a random non-zero 16-hex-digit span id.
func NewSpanID() string { return randomHex(8) }

// Traceparent formats a sampled W3C traceparent.
func Traceparent(traceID, spanID string) string { return "00-" + traceID + "-" + spanID + "-01" }

// ContinueTrace returns the trace id and a new span id for work on a message whose traceparent
// header is tp (§10): the message's trace when tp is valid, a new trace otherwise.
func ContinueTrace(tp string) (traceID, spanID string, continued bool) {
	if t, _, ok := ParseTraceparent(tp); ok {
		return t, NewSpanID(), true
	}
	return NewTraceID(), NewSpanID(), false
}
