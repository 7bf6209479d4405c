package sluice

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Reduced dead-letter records (§8.4 [v1.1]).
const (
	// HeaderLimit is the largest header block nats-server stores in a JetStream message.
	HeaderLimit = 65535
	// DroppedListMaxChars bounds Sluice-Dlq-Dropped-Headers.
	DroppedListMaxChars  = 1024
	HdrDlqDroppedHeaders = "Sluice-Dlq-Dropped-Headers"
	HdrDlqPayloadLength  = "Sluice-Dlq-Payload-Length"
	HdrDlqPayloadSha256  = "Sluice-Dlq-Payload-Sha256"
	headerBlockOverhead  = 12 // "NATS/1.0\r\n" and the closing "\r\n"
	headerLineOverhead   = 4  // ": " and "\r\n"
)

// HeaderSize is the canonical size of a header block (§8.4): every client's encoding is at most this.
func HeaderSize(h map[string][]string) int64 {
	n := int64(headerBlockOverhead)
	for k, vs := range h {
		n += lineSize(k, vs)
	}
	return n
}

func lineSize(k string, vs []string) int64 {
	var n int64
	for _, v := range vs {
		n += int64(len(k) + len(v) + headerLineOverhead)
	}
	return n
}

// Reduced is a dead-letter record as published.
type Reduced struct {
	Headers map[string][]string
	Payload []byte
	Dropped []string
	Cut     bool
}

// ReduceRecord fits a record (the full §8.1 headers and the original payload) within maxPayload
// bytes with a header block of at most min(65535, maxPayload) bytes: the largest copied original
// headers are dropped by name, then the payload is cut, its original length and SHA-256 recorded.
func ReduceRecord(record map[string][]string, payload []byte, maxPayload int64) (Reduced, error) {
	h := make(map[string][]string, len(record))
	for k, v := range record {
		h[k] = v
	}
	limit := maxPayload
	if limit > HeaderLimit {
		limit = HeaderLimit
	}
	var dropped []string
	cut := false
	notes := func() map[string][]string {
		out := make(map[string][]string, len(h)+3)
		for k, v := range h {
			out[k] = v
		}
		if len(dropped) > 0 {
			list := strings.Join(dropped, ",")
			if r := []rune(list); len(r) > DroppedListMaxChars {
				list = string(r[:DroppedListMaxChars])
			}
			out[HdrDlqDroppedHeaders] = []string{list}
		}
		if cut {
			sum := sha256.Sum256(payload)
			out[HdrDlqPayloadLength] = []string{strconv.Itoa(len(payload))}
			out[HdrDlqPayloadSha256] = []string{hex.EncodeToString(sum[:])}
		}
		return out
	}
	for {
		b := notes()
		size := HeaderSize(b)
		switch {
		case size > limit:
			var cands []string
			for k := range h {
				if k != HdrMsgID && !strings.HasPrefix(k, "Sluice-Dlq-") {
					cands = append(cands, k)
				}
			}
			if len(cands) == 0 {
				return Reduced{}, errors.New("the dead-letter headers alone exceed the header limit")
			}
			sort.Slice(cands, func(i, j int) bool {
				si, sj := lineSize(cands[i], h[cands[i]]), lineSize(cands[j], h[cands[j]])
				if si != sj {
					return si > sj
				}
				return bytes.Compare([]byte(cands[i]), []byte(cands[j])) < 0
			})
			dropped = append(dropped, cands[0])
			delete(h, cands[0])
		case !cut && size+int64(len(payload)) > maxPayload:
			cut = true
		default:
			body := payload
			if cut {
				keep := maxPayload - size
				if keep < 0 {
					keep = 0
				}
				if keep > int64(len(payload)) {
					keep = int64(len(payload))
				}
				body = payload[:keep]
			}
			return Reduced{Headers: b, Payload: body, Dropped: dropped, Cut: cut}, nil
		}
	}
}

// CheckSize reports whether a message of headers h and a payload of payloadLen bytes is stored
// (PROTOCOL.md §2.2): the canonical header size plus the payload must not exceed the work stream's
// max message size (maxMsgSize) nor the server's max payload; a limit ≤ 0 is none. A producer
// calls it before it reserves a credit; the error names both sizes, the limit and what to do.
func CheckSize(h map[string][]string, payloadLen int, stream string, maxMsgSize, maxPayload int64) error {
	bound := func(v int64) int64 {
		if v > 0 {
			return v
		}
		return math.MaxInt64
	}
	limit := min(bound(maxMsgSize), bound(maxPayload))
	hs := HeaderSize(h)
	if hs+int64(payloadLen) <= limit {
		return nil
	}
	which := "max_msg_size of stream " + stream
	if bound(maxPayload) < bound(maxMsgSize) {
		which = "max_payload of the server"
	}
	return fmt.Errorf("message of %d bytes (headers %d + payload %d) exceeds the %s (%d bytes); it was not sent and no credit was spent: send a smaller payload or raise the %s",
		hs+int64(payloadLen), hs, payloadLen, which, limit, which)
}
