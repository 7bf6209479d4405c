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

const hexDigits = "0123456789abcdef"

// fillHex fills dst (a multiple of 16 bytes) with random lowercase hex digits, not all zero,
// from math/rand/v2 (a ChaCha8 generator seeded from the OS): trace ids need uniqueness, not
// secrecy, and a message needs two of them, so they skip the system call of crypto/rand and
// are written straight into the caller's buffer.
func fillHex(dst []byte) {
	for {
		var any uint64
		for i := 0; i < len(dst); i += 16 {
			v := mrand.Uint64()
			any |= v
			for j := 0; j < 16; j++ {
				dst[i+j] = hexDigits[v&15]
				v >>= 4
			}
		}
		if any != 0 {
			return
		}
	}
}

// NewTraceID returns a random non-zero 32-hex-digit trace id.
func NewTraceID() string {
	var b [32]byte
	fillHex(b[:])
	return string(b[:])
}

// NewSpanID returns a random non-zero 16-hex-digit span id.
func NewSpanID() string {
	var b [16]byte
	fillHex(b[:])
	return string(b[:])
}

// Traceparent formats a sampled W3C traceparent.
func Traceparent(traceID, spanID string) string { return "00-" + traceID + "-" + spanID + "-01" }

// newTraceparent returns the traceparent of a new trace with flags ("01" sampled, "00" not)
// and its trace id, a substring of it: one allocation for both.
func newTraceparent(flags string) (tp, traceID string) {
	var b [55]byte
	copy(b[:], "00-")
	fillHex(b[3:35])
	b[35] = '-'
	fillHex(b[36:52])
	b[52] = '-'
	copy(b[53:], flags)
	tp = string(b[:])
	return tp, tp[3:35]
}

// ContinueTrace returns the trace id and a new span id for work on a message whose traceparent
// header is tp (§10): the message's trace when tp is valid, a new trace otherwise.
func ContinueTrace(tp string) (traceID, spanID string, continued bool) {
	if t, _, ok := ParseTraceparent(tp); ok {
		return t, NewSpanID(), true
	}
	return NewTraceID(), NewSpanID(), false
}
