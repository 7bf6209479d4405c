package sluice

import "strconv"

// matcher is a hand-written check with regexp's MatchString shape: the header checks run on
// every delivery, and these are several times cheaper than the equivalent regular expressions.
type matcher func(string) bool

func (m matcher) MatchString(s string) bool { return m(s) }

// byteClass is a set of bytes, looked up by table: a check runs over every byte of several
// headers of every delivery, and a table costs less than a function call per byte.
type byteClass [256]bool

func newByteClass(ranges ...string) *byteClass {
	var c byteClass
	for _, r := range ranges {
		for b := int(r[0]); b <= int(r[len(r)-1]); b++ {
			c[b] = true
		}
	}
	return &c
}

var (
	msgIDBytes   = newByteClass("\x21\x7e")
	typeBytes    = newByteClass("AZ", "az", "09", "_", ".", "/", "-")
	plainIDBytes = newByteClass("AZ", "az", "09", "_", "-")
	digitBytes   = newByteClass("09")
	lowerHex     = newByteClass("09", "af")
)

// allBytes reports whether s has lo to hi bytes, all in c.
func allBytes(s string, lo, hi int, c *byteClass) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !c[s[i]] {
			return false
		}
	}
	return true
}

var (
	// msgIDRe: ^[\x21-\x7e]{1,128}$
	msgIDRe = matcher(func(s string) bool { return allBytes(s, 1, 128, msgIDBytes) })
	// typeRe: ^[A-Za-z0-9_./-]{1,256}$
	typeRe = matcher(func(s string) bool { return allBytes(s, 1, 256, typeBytes) })
	// decimalRe: ^[1-9][0-9]*$
	decimalRe = matcher(func(s string) bool {
		return len(s) > 0 && s[0] != '0' && allBytes(s, 1, len(s), digitBytes)
	})
)

// maxProtocolDigits bounds Sluice-Protocol to values that fit comfortably in an int32.
const maxProtocolDigits = 9

// First returns the first value of header name (names are case-sensitive), or "".
func First(h map[string][]string, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// HeaderCheck is the result of worker-side header validation (§3).
type HeaderCheck struct {
	Valid bool
	// Reason is missing-header or bad-header when not Valid.
	Reason string
	// Header names the first failing header when not Valid.
	Header string

	Protocol   int
	Type       string
	Version    int
	TraceValid bool
	// NotHandledReason is unsupported-protocol when the protocol is newer than supported.
	NotHandledReason string
}

// ValidateHeaders checks the §3 headers of a delivery in the order of §3, for a worker that
// implements protocols up to supported.
func ValidateHeaders(h map[string][]string, supported int) HeaderCheck {
	required := []string{HdrMsgID, HdrProtocol, HdrType, HdrTypeVersion}
	for _, name := range required {
		if First(h, name) == "" {
			return HeaderCheck{Reason: ReasonMissingHeader, Header: name}
		}
	}
	bad := func(name string) HeaderCheck { return HeaderCheck{Reason: ReasonBadHeader, Header: name} }
	id, proto, typ, ver := First(h, HdrMsgID), First(h, HdrProtocol), First(h, HdrType), First(h, HdrTypeVersion)
	if !msgIDRe.MatchString(id) {
		return bad(HdrMsgID)
	}
	if !decimalRe.MatchString(proto) || len(proto) > maxProtocolDigits {
		return bad(HdrProtocol)
	}
	if !typeRe.MatchString(typ) {
		return bad(HdrType)
	}
	version, err := strconv.ParseInt(ver, 10, 64)
	if !decimalRe.MatchString(ver) || err != nil || version > 2147483647 {
		return bad(HdrTypeVersion)
	}
	p, _ := strconv.Atoi(proto)
	out := HeaderCheck{Valid: true, Protocol: p, Type: typ, Version: int(version)}
	_, _, out.TraceValid = ParseTraceparent(First(h, HdrTraceparent))
	if p > supported {
		out.NotHandledReason = ReasonUnsupportedProtocol
	}
	return out
}

// ParseTraceparent returns the trace id and parent id of a W3C traceparent (version 00,
// lowercase, ids not all zero); ok is false for a missing or malformed value.
func ParseTraceparent(tp string) (traceID, parentID string, ok bool) {
	// ^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$
	if len(tp) != 55 || tp[:3] != "00-" || tp[35] != '-' || tp[52] != '-' {
		return "", "", false
	}
	traceID, parentID, flags := tp[3:35], tp[36:52], tp[53:]
	if !allBytes(traceID, 32, 32, lowerHex) || !allBytes(parentID, 16, 16, lowerHex) || !allBytes(flags, 2, 2, lowerHex) {
		return "", "", false
	}
	if traceID == "00000000000000000000000000000000" || parentID == "0000000000000000" {
		return "", "", false
	}
	return traceID, parentID, true
}
