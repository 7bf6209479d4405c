package sluice

import (
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
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

// fastHex returns 2n random lowercase hex digits, not all zero, from math/rand/v2 (a ChaCha8
// generator seeded from the OS): trace ids need uniqueness, not secrecy, and a message needs two
// of them, so they skip the system call of crypto/rand.
func fastHex(n int) string {
	b := make([]byte, n)
	for {
		nonzero := false
		for i := 0; i < n; i += 8 {
			v := mrand.Uint64()
			for j := 0; j < 8 && i+j < n; j++ {
				b[i+j] = byte(v >> (8 * j))
				nonzero = nonzero || b[i+j] != 0
			}
		}
		if nonzero {
			return hex.EncodeToString(b)
		}
	}
}

// NewTraceID returns a random non-zero 32-hex-digit trace id.
func NewTraceID() string { return fastHex(16) }

// NewSpanID returns a random non-zero 16-hex-digit span id.
func NewSpanID() string { return fastHex(8) }

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
