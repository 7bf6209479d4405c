package sluice

import (
	"strings"
	"unicode/utf8"
)

// Problem codes of CapacityAdvert.problem (PROTOCOL.md §5.2, revision 1.2).
const (
	ProblemDLQUnwritable    = "dlq-unwritable"
	ProblemIdempotencyStore = "idempotency-store"
	ProblemPullDenied       = "pull-denied"
	ProblemNotConsuming     = "not-consuming"
)

// problemTextMax bounds one line's text in bytes: a few lines stay under the spec's 2048 bytes.
const problemTextMax = 600

// ProblemLine is one line of CapacityAdvert.problem: "<code>: <text>", the text on one line and
// cut to at most 600 bytes on a rune boundary; "" when text is "" (no problem).
func ProblemLine(code, text string) string {
	if text == "" {
		return ""
	}
	text = strings.Join(strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' }), " ")
	if len(text) > problemTextMax {
		cut := problemTextMax
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	return code + ": " + text
}
