package sluice_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// serverURL is a real nats-server with JetStream that the examples and tests of this package
// share, started by TestMain from NATS_SERVER_BIN (else scripts/setup --print-path).
var serverURL string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-go-lib")
	if err != nil {
		panic(err)
	}
	stop, err := startServer(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting nats-server:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

func serverBin() (string, error) {
	if p := os.Getenv("NATS_SERVER_BIN"); p != "" {
		return p, nil
	}
	dir, _ := os.Getwd()
	for {
		setup := filepath.Join(dir, "scripts", "setup")
		if _, err := os.Stat(setup); err == nil {
			out, err := exec.Command(setup, "--print-path").Output()
			return strings.TrimSpace(string(out)), err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no NATS_SERVER_BIN and no scripts/setup above %s", dir)
		}
		dir = parent
	}
}

func startServer(dir string) (func(), error) {
	bin, err := serverBin()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", dir)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	serverURL = fmt.Sprintf("nats://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		nc, err := nats.Connect(serverURL)
		if err == nil {
			js, _ := jetstream.New(nc)
			_, err = js.AccountInfo(context.Background())
			nc.Close()
			if err == nil {
				return stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("nats-server at %s not ready: %v", serverURL, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
