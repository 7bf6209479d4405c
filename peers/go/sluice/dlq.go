package sluice

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

func itoa(n int) string { return strconv.Itoa(n) }

// MaxErrorChars bounds Sluice-Dlq-Error (§8.1).
const MaxErrorChars = 1024

// DeadLetter describes one dead-letter record (§8.1).
type DeadLetter struct {
	Stream    string
	StreamSeq uint64
	Subject   string
	Attempts  int
	WorkerID  string
	AtUnixMs  int64
	Reason    string
	Error     string
}

// TruncateError cuts s to at most MaxErrorChars characters (runes), keeping valid UTF-8.
func TruncateError(s string) string {
	if utf8.RuneCountInString(s) <= MaxErrorChars {
		return s
	}
	r := []rune(s)
	return string(r[:MaxErrorChars])
}

// DLQMsgID is the Nats-Msg-Id of the record for a stream message.
func DLQMsgID(stream string, seq uint64) string {
	return "dlq." + stream + "." + strconv.FormatUint(seq, 10)
}

// RecordHeaders returns the headers of the dead-letter record of a message with headers orig:
// every original header (all values) except Nats-Expected-* preconditions, plus the Sluice-Dlq-*
// headers, Nats-Msg-Id replaced.
func RecordHeaders(orig map[string][]string, d DeadLetter) map[string][]string {
	out := make(map[string][]string, len(orig)+10)
	for k, v := range orig {
		if strings.HasPrefix(k, "Nats-Expected-") {
			continue // publish preconditions would make the record's own publish fail
		}
		out[k] = append([]string(nil), v...)
	}
	if id := First(orig, HdrMsgID); id != "" {
		out[HdrDlqMsgID] = []string{id}
	} else {
		delete(out, HdrDlqMsgID)
	}
	set := func(k, v string) { out[k] = []string{v} }
	set(HdrMsgID, DLQMsgID(d.Stream, d.StreamSeq))
	set(HdrDlqReason, d.Reason)
	set(HdrDlqError, TruncateError(d.Error))
	set(HdrDlqAttempts, strconv.Itoa(d.Attempts))
	set(HdrDlqStream, d.Stream)
	set(HdrDlqStreamSeq, strconv.FormatUint(d.StreamSeq, 10))
	set(HdrDlqSubject, d.Subject)
	set(HdrDlqWorker, d.WorkerID)
	set(HdrDlqAt, strconv.FormatInt(d.AtUnixMs, 10))
	return out
}

// ReplayMsgID is the Nats-Msg-Id of the replay of the record at DLQ stream sequence seq.
func ReplayMsgID(dlqSeq uint64) string { return "replay." + strconv.FormatUint(dlqSeq, 10) }

// ReplayHeaders returns the headers of the replay of a dead-letter record (§8.3): the record's
// headers without the Sluice-Dlq-* ones, Nats-Msg-Id = replay.<dlq seq> and Sluice-Replay-Of =
// the original message id (absent when the original had none).
func ReplayHeaders(record map[string][]string, dlqSeq uint64) map[string][]string {
	out := make(map[string][]string, len(record))
	for k, v := range record {
		if strings.HasPrefix(k, "Sluice-Dlq-") || strings.HasPrefix(k, "Nats-Expected-") {
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	out[HdrMsgID] = []string{ReplayMsgID(dlqSeq)}
	if orig := First(record, HdrDlqMsgID); orig != "" {
		out[HdrReplayOf] = []string{orig}
	} else {
		delete(out, HdrReplayOf)
	}
	return out
}
