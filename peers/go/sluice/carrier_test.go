package sluice

import (
	"testing"

	"github.com/nats-io/nats.go"
)

func TestHeaderCarrierKeepsW3CNamesAsGiven(t *testing.T) {
	h := nats.Header{}
	c := HeaderCarrier(h)
	c.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	c.Set("tracestate", "a=1")
	if got := h["traceparent"]; len(got) != 1 || got[0] != c.Get("traceparent") {
		t.Fatalf("traceparent stored as %v", h)
	}
	if keys := c.Keys(); len(keys) != 2 {
		t.Fatalf("keys %v", keys)
	}
	if c.Get("Traceparent") != "" {
		t.Fatal("names must not be canonicalized: W3C headers are lowercase on the wire")
	}
}
