package sluice

import (
	"encoding/base64"
	"strconv"
	"time"
)

// Scheduled messages (PROTOCOL.md §13 [v1.2]).
const (
	HdrScheduleID = "Sluice-Schedule-Id"
	HdrDueAt      = "Sluice-Due-At"
	HdrCron       = "Sluice-Cron"
	HdrCronZone   = "Sluice-Cron-Zone"
	// MaxScheduleDelay is the furthest ahead a message may be scheduled (§13.1).
	MaxScheduleDelay = 366 * 24 * time.Hour
)

// ScheduleStream is queue q's schedule stream (§13.2).
func ScheduleStream(q string) string { return "SLUICE_SCHED_" + q }

// ScheduleSubject is the subject of schedule id: its UTF-8 bytes in unpadded base64url (§13.2).
func ScheduleSubject(q, id string) string {
	return "sluice.sched." + q + "." + base64.RawURLEncoding.EncodeToString([]byte(id))
}

// ScheduleEntryMsgID is the Nats-Msg-Id of a one-shot entry due at dueMs (§13.2).
func ScheduleEntryMsgID(id string, dueMs int64) string {
	return "sched-" + strconv.FormatInt(dueMs, 10) + "-" + id
}

// DueAt is the due time of a schedule asked for requested at now: a past time is due now; it
// is false when requested lies beyond MaxScheduleDelay (§13.1).
func DueAt(requested, now time.Time) (time.Time, bool) {
	if requested.Sub(now) > MaxScheduleDelay {
		return time.Time{}, false
	}
	if requested.Before(now) {
		return now, true
	}
	return requested, true
}
