package sluice

import (
	"regexp"
	"strconv"
)

var (
	msgIDRe       = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
	typeRe        = regexp.MustCompile(`^[A-Za-z0-9_./-]{1,256}$`)
	decimalRe     = regexp.MustCompile(`^[1-9][0-9]*$`)
	traceparentRe = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$`)
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
	m := traceparentRe.FindStringSubmatch(tp)
	if m == nil || m[1] == "00000000000000000000000000000000" || m[2] == "0000000000000000" {
		return "", "", false
	}
	return m[1], m[2], true
}
