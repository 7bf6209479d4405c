package sluice

// HandledType is one payload type a worker handles, with an inclusive version range.
type HandledType struct {
	Type       string `json:"type"`
	MinVersion int    `json:"min_version"`
	MaxVersion int    `json:"max_version"`
}

// WorkerSettings are the §7 settings that decide a delivery's outcome.
type WorkerSettings struct {
	MaxAttempts     int     `json:"max_attempts"`
	MaxDeliveries   int     `json:"max_deliveries"`
	GraceMs         int64   `json:"grace_ms"`
	GraceDelayMs    int64   `json:"grace_delay_ms"`
	MaxPayloadBytes int     `json:"max_payload_bytes"`
	Backoff         Backoff `json:"backoff"`
}

// DefaultWorkerSettings are the defaults of §4.2, §7.2 and §7.3.
var DefaultWorkerSettings = WorkerSettings{
	MaxAttempts: 5, MaxDeliveries: 10, GraceMs: 25000, GraceDelayMs: 5000,
	MaxPayloadBytes: 1 << 20, Backoff: DefaultBackoff,
}

// Outcome kinds.
const (
	OutcomeAck = "ack"
	OutcomeNak = "nak"
	OutcomeDLQ = "dlq"
	// OutcomeRun means: decode succeeded and the handler must run (see AfterHandler).
	OutcomeRun = "run"
)

// Decision is what a worker does with one delivery.
type Decision struct {
	Kind string
	// Reason is the dead-letter reason (dlq) or the not-handled reason (a grace nak).
	Reason string
	// Error is human-readable text for a dead-letter record.
	Error string
	// Duplicate marks an ack of an already processed message.
	Duplicate bool
	// NotHandled marks a grace nak (§4.2); its delay is GraceDelayMs.
	NotHandled bool
	// Retry marks a nak after a handler failure; its delay is the backoff for attempt k.
	Retry       bool
	DelayMs     float64
	HandlerRuns bool
}

// Delivery is what the steps before the handler look at (§7.2 steps 1–6).
type Delivery struct {
	Headers map[string][]string
	// PayloadSize is the payload length in bytes.
	PayloadSize int
	// K is the JetStream delivery count (1 on first delivery).
	K int
	// AgeMs is now − the original publish time.
	AgeMs int64
	// FleetHandles reports whether a live capacity advert of another worker of the queue
	// (§5.2, any state) lists the delivery's type, version and protocol in its handled ranges.
	// It is asked only for a delivery not handled here whose grace period is over (§4.2), or
	// one past max deliveries (§7.2 step 3); nil means false.
	FleetHandles func(hc HeaderCheck) bool
	// FleetDeclines reports whether a live capacity advert of another worker does not list
	// them (§7.2 step 3: a mixed fleet for this message). Asked only past max deliveries for
	// a delivery handled here; nil means false.
	FleetDeclines func(hc HeaderCheck) bool
}

func ask(f func(HeaderCheck) bool, hc HeaderCheck) bool { return f != nil && f(hc) }

// Handles reports whether typ@version is in handled, and if not, the not-handled reason.
func Handles(handled []HandledType, typ string, version int) (bool, string) {
	known := false
	for _, h := range handled {
		if h.Type != typ {
			continue
		}
		known = true
		if h.MinVersion <= version && version <= h.MaxVersion {
			return true, ""
		}
	}
	if !known {
		return false, ReasonUnknownType
	}
	return false, ReasonUnsupportedVersion
}

// BeforeHandler applies §7.2 steps 1–5 to a delivery. processed reports whether the message
// id was processed before (§9); it is only called once the earlier steps have passed. The
// result is a final decision, or Kind OutcomeRun when the payload should be decoded (step 6:
// a decode failure is a dead-letter decode-error) and the handler run.
func BeforeHandler(d Delivery, s WorkerSettings, handled []HandledType, processed func(msgID string) bool) (Decision, HeaderCheck) {
	hc := ValidateHeaders(d.Headers, Protocol)
	if !hc.Valid {
		return Decision{Kind: OutcomeDLQ, Reason: hc.Reason, Error: headerError(hc)}, hc
	}
	if d.PayloadSize > s.MaxPayloadBytes {
		return Decision{Kind: OutcomeDLQ, Reason: ReasonOversize,
			Error: "payload of " + itoa(d.PayloadSize) + " bytes exceeds the maximum of " + itoa(s.MaxPayloadBytes)}, hc
	}
	reason := hc.NotHandledReason
	if reason == "" {
		if ok, r := Handles(handled, hc.Type, hc.Version); !ok {
			reason = r
		}
	}
	if d.K > s.MaxDeliveries {
		// §7.2 step 3: in a mixed fleet for this message the deliveries may have been grace
		// NAKs, which say nothing about crashes: go on.
		mixed := reason == "" && ask(d.FleetDeclines, hc) || reason != "" && ask(d.FleetHandles, hc)
		if !mixed {
			return Decision{Kind: OutcomeDLQ, Reason: ReasonMaxDeliveries,
				Error: "delivered " + itoa(d.K) + " times, more than max deliveries " + itoa(s.MaxDeliveries)}, hc
		}
	}
	if processed != nil && processed(First(d.Headers, HdrMsgID)) {
		return Decision{Kind: OutcomeAck, Duplicate: true}, hc
	}
	if reason != "" {
		// §4.2: after the grace period, dead-letter only when no other live advert handles it.
		if d.AgeMs < s.GraceMs || ask(d.FleetHandles, hc) {
			return Decision{Kind: OutcomeNak, Reason: reason, NotHandled: true, DelayMs: float64(s.GraceDelayMs)}, hc
		}
		return Decision{Kind: OutcomeDLQ, Reason: reason, Error: notHandledError(reason, hc)}, hc
	}
	return Decision{Kind: OutcomeRun}, hc
}

// Handler results.
const (
	HandlerSuccess = "success"
	HandlerReject  = "reject"
	HandlerFail    = "fail"
)

// AfterHandler applies §7.2 step 7 for the handler's result on delivery k; u in [0, 1) draws
// the jitter of a retry delay.
func AfterHandler(result string, errText string, k int, s WorkerSettings, u float64) Decision {
	switch result {
	case HandlerSuccess:
		return Decision{Kind: OutcomeAck, HandlerRuns: true}
	case HandlerReject:
		return Decision{Kind: OutcomeDLQ, Reason: ReasonRejected, Error: errText, HandlerRuns: true}
	}
	if k >= s.MaxAttempts {
		return Decision{Kind: OutcomeDLQ, Reason: ReasonMaxAttempts, Error: errText, HandlerRuns: true}
	}
	return Decision{Kind: OutcomeNak, Retry: true, DelayMs: s.Backoff.Delay(k, u), HandlerRuns: true}
}

func headerError(hc HeaderCheck) string {
	if hc.Reason == ReasonMissingHeader {
		return "missing header " + hc.Header
	}
	return "malformed header " + hc.Header
}

func notHandledError(reason string, hc HeaderCheck) string {
	switch reason {
	case ReasonUnsupportedProtocol:
		return "protocol " + itoa(hc.Protocol) + " is not supported (highest " + itoa(Protocol) + ")"
	case ReasonUnknownType:
		return "no worker handles type " + hc.Type
	default:
		return "type " + hc.Type + " version " + itoa(hc.Version) + " is not handled"
	}
}
