package sluice

import "testing"

// §4.2 as tightened: after the grace period a delivery not handled here is dead-lettered only
// when no live advert of the fleet handles it; otherwise it keeps being NAKed with the grace delay.
func TestNotHandledAfterGraceDependsOnFleet(t *testing.T) {
	s := DefaultWorkerSettings
	h := map[string][]string{HdrMsgID: {"m-1"}, HdrProtocol: {"1"}, HdrType: {"t"}, HdrTypeVersion: {"2"}}
	handled := []HandledType{{Type: "t", MinVersion: 1, MaxVersion: 1}}
	for _, c := range []struct {
		name  string
		age   int64
		fleet *bool
		kind  string
	}{
		{"within grace, fleet does not handle", 0, ptr(false), OutcomeNak},
		{"after grace, fleet handles", s.GraceMs, ptr(true), OutcomeNak},
		{"after grace, fleet does not handle", s.GraceMs, ptr(false), OutcomeDLQ},
		{"after grace, no fleet view", s.GraceMs, nil, OutcomeDLQ},
	} {
		asked := false
		d := Delivery{Headers: h, K: 1, AgeMs: c.age}
		if c.fleet != nil {
			v := *c.fleet
			d.FleetHandles = func(hc HeaderCheck) bool {
				asked = true
				if hc.Type != "t" || hc.Version != 2 || hc.Protocol != 1 {
					t.Errorf("%s: fleet asked about %+v", c.name, hc)
				}
				return v
			}
		}
		dec, _ := BeforeHandler(d, s, handled, nil)
		if dec.Kind != c.kind {
			t.Errorf("%s: got %+v want %s", c.name, dec, c.kind)
		}
		if dec.Kind == OutcomeNak && (dec.DelayMs != float64(s.GraceDelayMs) || !dec.NotHandled) {
			t.Errorf("%s: not a grace nak: %+v", c.name, dec)
		}
		if dec.Kind == OutcomeDLQ && dec.Reason != ReasonUnsupportedVersion {
			t.Errorf("%s: reason %s", c.name, dec.Reason)
		}
		if c.age < s.GraceMs && asked {
			t.Errorf("%s: fleet asked within the grace period", c.name)
		}
	}
}

func ptr(b bool) *bool { return &b }
