package sluice

import (
	"strings"
	"testing"
)

func TestCheckSize(t *testing.T) {
	h := map[string][]string{"Nats-Msg-Id": {"m-1"}} // 12 + 11 + 3 + 4 = 30 bytes
	if err := CheckSize(h, 70, "SLUICE_Q_a", 100, 1<<20); err != nil {
		t.Errorf("30 + 70 = 100 fits: %v", err)
	}
	err := CheckSize(h, 71, "SLUICE_Q_a", 100, 1<<20)
	if err == nil || !strings.Contains(err.Error(), "message of 101 bytes (headers 30 + payload 71) exceeds the max_msg_size of stream SLUICE_Q_a (100 bytes)") {
		t.Errorf("stream limit: %v", err)
	}
	err = CheckSize(h, 21, "SLUICE_Q_a", -1, 50)
	if err == nil || !strings.Contains(err.Error(), "max_payload of the server (50 bytes)") {
		t.Errorf("server limit: %v", err)
	}
	if err := CheckSize(h, 1<<30, "SLUICE_Q_a", 0, 0); err != nil {
		t.Errorf("no limit: %v", err)
	}
}
