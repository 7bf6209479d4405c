// Package sluicetest starts a real nats-server with JetStream for the tests of code that uses
// Sluice, so that handlers, producers and workers are tested against the broker they run on in
// production rather than against a mock.
//
// The server binary is the one named by the NATS_SERVER_BIN environment variable, else
// nats-server on the PATH, else /usr/sbin/nats-server (Debian's package). Each server listens on
// a free loopback port with a temporary store and is killed when the test (or Stop) ends.
//
//	func TestOrders(t *testing.T) {
//		url := sluicetest.Run(t)
//		nc, _ := nats.Connect(url)
//		...
//		sluicetest.Eventually(t, 5*time.Second, "the order to be processed", func() bool {
//			return processed.Load() == 1
//		})
//	}
package sluicetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoServer is returned by Start when no nats-server binary can be found.
var ErrNoServer = errors.New("sluicetest: no nats-server binary: set NATS_SERVER_BIN or put nats-server on the PATH")

// Server is one nats-server process with JetStream enabled.
type Server struct {
	// URL is the server's client address, nats://127.0.0.1:<port>.
	URL string

	cmd    *exec.Cmd
	dir    string
	stderr *syncBuffer
	once   sync.Once
}

// Binary returns the nats-server binary Start uses: NATS_SERVER_BIN, else nats-server on the
// PATH, else /usr/sbin/nats-server. It returns ErrNoServer when none exists.
func Binary() (string, error) {
	if p := os.Getenv("NATS_SERVER_BIN"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil {
		return "/usr/sbin/nats-server", nil
	}
	return "", ErrNoServer
}

// Start starts a server on a free loopback port with a temporary store and returns once it
// answers JetStream requests (at most 10 s). The caller stops it with Stop.
func Start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sluicetest-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{URL: fmt.Sprintf("nats://127.0.0.1:%d", port), dir: dir, stderr: &syncBuffer{}}
	s.cmd = exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", dir)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("sluicetest: starting %s: %w", bin, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !s.ready() {
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("sluicetest: %s not ready at %s after 10 s; its output:\n%s",
				bin, s.URL, s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s, nil
}

func (s *Server) ready() bool {
	nc, err := nats.Connect(s.URL)
	if err != nil {
		return false
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err == nil
}

// Output returns what the server has written to its standard error so far (its log), for a
// failing test to show.
func (s *Server) Output() string { return s.stderr.String() }

// Stop kills the server and removes its store. It may be called more than once.
func (s *Server) Stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		os.RemoveAll(s.dir)
	})
}

// Run starts a server for the test t, stops it when t ends, and returns its URL. It fails t
// at once when no server can start.
func Run(t testing.TB) string {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s.URL
}

// Eventually polls cond every 10 ms until it holds, and fails t naming what it waited for when
// it still does not hold after d.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
