package sluicetest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"sluice.dev/peers/go/sluicetest"
)

// A started server takes connections until Stop, and Stop may be called twice.
func TestStartAndStop(t *testing.T) {
	s, err := sluicetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(s.URL)
	if err != nil {
		s.Stop()
		t.Fatal(err)
	}
	nc.Close()
	s.Stop()
	s.Stop()
	if _, err := nats.Connect(s.URL, nats.NoReconnect()); err == nil {
		t.Fatalf("a stopped server at %s still took a connection", s.URL)
	}
}

// Two servers of one test get two ports, so parallel tests do not share a broker.
func TestRunGivesEachCallItsOwnServer(t *testing.T) {
	a, b := sluicetest.Run(t), sluicetest.Run(t)
	if a == b {
		t.Fatalf("both servers at %s", a)
	}
}

// A binary that does not exist is named in the error rather than ending in a hang.
func TestStartNamesABinaryThatCannotRun(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-nats-server")
	t.Setenv("NATS_SERVER_BIN", missing)
	_, err := sluicetest.Start()
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("want an error naming %s, got %v", missing, err)
	}
	if _, statErr := os.Stat(missing); statErr == nil {
		t.Fatal("the test's premise failed: the binary exists")
	}
}
