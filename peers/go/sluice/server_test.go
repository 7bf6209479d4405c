package sluice_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"sluice.dev/peers/go/sluicetest"
)

// serverURL is a real nats-server with JetStream that the examples and tests of this package
// share, started by TestMain (sluicetest: NATS_SERVER_BIN, else nats-server on the PATH).
var serverURL string

func TestMain(m *testing.M) {
	s, err := sluicetest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting nats-server:", err)
		os.Exit(1)
	}
	serverURL = s.URL
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// connect returns a connection to the test server, closed with the test.
func connect(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// eventually polls cond every 10 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	sluicetest.Eventually(t, d, what, cond)
}

// fresh names a queue that no earlier run of the test binary used (-count, or a test run twice
// against one server): a queue's streams, adverts and reports would otherwise carry over.
func fresh(prefix string) string {
	return prefix + "-" + strconv.FormatInt(freshQueues.Add(1), 10)
}
