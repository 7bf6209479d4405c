package sluice

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A handler's context ends with DeadlineExceeded at the timeout, and contexts derived from it
// and context.AfterFunc follow it.
func TestHandlerCtxEndsAtItsDeadline(t *testing.T) {
	tr := TraceContext{TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331", Continued: true}
	c := startHandlerCtx(50*time.Millisecond, time.Hour, tr, nil)
	child, cancel := context.WithCancel(c)
	defer cancel()
	ran := make(chan struct{})
	context.AfterFunc(c, func() { close(ran) })
	if d, ok := c.Deadline(); !ok || time.Until(d) > 50*time.Millisecond {
		t.Errorf("deadline %v %v, want within 50 ms", d, ok)
	}
	if got, ok := TraceFromContext(child); !ok || got != tr {
		t.Errorf("trace from a derived context: %+v %v, want %+v", got, ok, tr)
	}
	for _, ctx := range []context.Context{c, child} {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("not ended 5 s after a 50 ms deadline")
		}
	}
	if !errors.Is(c.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Errorf("errors %v and %v, want context.DeadlineExceeded", c.Err(), child.Err())
	}
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Error("context.AfterFunc did not run")
	}
}

// Ended when its handler returns: Canceled, Done closed even when asked for only after, and an
// AfterFunc stopped before does not run.
func TestHandlerCtxEndsWithItsHandler(t *testing.T) {
	c := startHandlerCtx(time.Hour, time.Hour, TraceContext{}, nil)
	ran := make(chan struct{}, 1)
	stop := context.AfterFunc(c, func() { ran <- struct{}{} })
	if !stop() || stop() {
		t.Error("stop: want true once, then false")
	}
	child, cancel := context.WithCancel(c)
	defer cancel()
	if c.Err() != nil {
		t.Fatalf("Err %v before the end", c.Err())
	}
	c.end(context.Canceled)
	c.end(context.DeadlineExceeded) // the first end wins
	<-c.Done()
	if c.Err() != context.Canceled {
		t.Errorf("Err %v, want context.Canceled", c.Err())
	}
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a derived context did not end with its parent")
	}
	late := make(chan struct{})
	context.AfterFunc(c, func() { close(late) })
	select {
	case <-late:
	case <-time.After(5 * time.Second):
		t.Error("an AfterFunc registered after the end did not run")
	}
	select {
	case <-ran:
		t.Error("a stopped AfterFunc ran")
	default:
	}
}
