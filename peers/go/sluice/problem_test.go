package sluice

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestProblemLine(t *testing.T) {
	if got := ProblemLine(ProblemDLQUnwritable, ""); got != "" {
		t.Errorf("no problem: got %q, want empty", got)
	}
	if got := ProblemLine(ProblemDLQUnwritable, "no\nresponders\r\nhere"); got != "dlq-unwritable: no responders here" {
		t.Errorf("one line: got %q", got)
	}
	long := ProblemLine(ProblemDLQUnwritable, strings.Repeat("é", 400)) // 800 bytes
	text := strings.TrimPrefix(long, "dlq-unwritable: ")
	if len(text) > problemTextMax || !utf8.ValidString(text) || len(text) < problemTextMax-1 {
		t.Errorf("cut: %d bytes, valid %v", len(text), utf8.ValidString(text))
	}
}
