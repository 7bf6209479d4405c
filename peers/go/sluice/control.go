package sluice

import (
	"google.golang.org/protobuf/proto"

	"sluice.dev/peers/go/sluicepb"
)

// Encode serializes a control message deterministically.
func Encode(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// Decode parses a control message; unknown fields are ignored (§4.1).
func Decode(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) }

// DecodeAdvert parses a CapacityAdvert.
func DecodeAdvert(b []byte) (*sluicepb.CapacityAdvert, error) {
	m := &sluicepb.CapacityAdvert{}
	return m, Decode(b, m)
}

// DecodeReport parses a ProducerReport.
func DecodeReport(b []byte) (*sluicepb.ProducerReport, error) {
	m := &sluicepb.ProducerReport{}
	return m, Decode(b, m)
}

// DecodeToken parses a CreditToken body (which may be empty).
func DecodeToken(b []byte) (*sluicepb.CreditToken, error) {
	m := &sluicepb.CreditToken{}
	return m, Decode(b, m)
}

// DecodeQueueSettings parses QueueSettings.
func DecodeQueueSettings(b []byte) (*sluicepb.QueueSettings, error) {
	m := &sluicepb.QueueSettings{}
	return m, Decode(b, m)
}

// View returns the window-relevant part of an advert.
func View(a *sluicepb.CapacityAdvert) AdvertView {
	return AdvertView{Capacity: a.GetCapacity(), Running: a.GetState() == sluicepb.WorkerState_WORKER_STATE_RUNNING,
		HeartbeatUnixMs: a.GetHeartbeatUnixMs(), TTLMs: a.GetTtlMs()}
}
