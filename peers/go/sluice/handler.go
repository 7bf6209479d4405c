package sluice

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Msg is one delivery as a handler sees it.
type Msg struct {
	ID   string
	Type string
	// Version is the Sluice-Type-Version the message was sent with (before upcasting).
	Version int
	// Attempt is the delivery count, 1 on the first delivery.
	Attempt int
	Subject string
	Header  nats.Header
	// Data is the payload after upcasting, as the codec decodes it.
	Data      []byte
	StreamSeq uint64
	// Stored is when the server stored the message.
	Stored time.Time

	raw   jetstream.Msg
	value any
}

// AckProgress tells the server that the handler is still working (+WPI), restarting the ack
// wait. Workers do it every ack wait / 3 on their own; call it for finer control.
func (m *Msg) AckProgress() error { return m.raw.InProgress() }

// HandlerFunc handles one decoded payload. Return nil to ack, Reject(err) to dead-letter at
// once, or any other error to retry with backoff (dead-lettered "max-attempts" after the last
// attempt). ctx ends at the handler timeout and carries the message's trace (TraceFromContext).
type HandlerFunc[T any] func(ctx context.Context, v T, m *Msg) error

// Next runs the rest of a delivery's handling: decoding and the handler.
type Next func(ctx context.Context, m *Msg) error

// Middleware wraps every delivery's handling, e.g. for logging, tracing or panics; it may
// change the returned error (and so the outcome).
type Middleware func(next Next) Next

// Upcaster turns a payload of one schema version into the next version's payload.
type Upcaster func(data []byte) ([]byte, error)

type handlerEntry struct {
	typ      string
	min, max int
	run      Next
}

// Handle registers fn for payloads of typ with schema versions minVersion..maxVersion, decoded
// by codec. Register older versions with Upcast to have them upcast into this range.
func Handle[T any](typ string, minVersion, maxVersion int, codec Codec[T], fn HandlerFunc[T]) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		if !typeRe.MatchString(typ) {
			return configErr("Handle", "type %q: use 1 to 256 characters of A-Z a-z 0-9 _ . / -", typ)
		}
		if minVersion < 1 || maxVersion < minVersion {
			return configErr("Handle", "type %s: versions %d..%d: need 1 ≤ min ≤ max", typ, minVersion, maxVersion)
		}
		if codec == nil || fn == nil {
			return configErr("Handle", "type %s: codec and handler must not be nil", typ)
		}
		for _, h := range c.handlers {
			if h.typ == typ && h.min <= maxVersion && minVersion <= h.max {
				return configErr("Handle", "type %s: versions %d..%d overlap the handler for %d..%d: give each version one handler", typ, minVersion, maxVersion, h.min, h.max)
			}
		}
		run := func(ctx context.Context, m *Msg) error {
			v, err := codec.Decode(m.Data)
			if err != nil {
				return &DecodeError{Err: err}
			}
			m.value = v
			return fn(ctx, v, m)
		}
		c.handlers = append(c.handlers, &handlerEntry{typ: typ, min: minVersion, max: maxVersion, run: run})
		return nil
	})
}

// Upcast registers fn to turn typ payloads of version fromVersion into version fromVersion+1.
// The worker then advertises fromVersion as handled when fromVersion+1 is (directly or through
// more upcasters).
func Upcast(typ string, fromVersion int, fn Upcaster) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		if fromVersion < 1 || fn == nil {
			return configErr("Upcast", "type %s: need a version ≥ 1 and a non-nil upcaster", typ)
		}
		if c.upcasters[typ] == nil {
			c.upcasters[typ] = map[int]Upcaster{}
		}
		if _, dup := c.upcasters[typ][fromVersion]; dup {
			return configErr("Upcast", "type %s: two upcasters from version %d", typ, fromVersion)
		}
		c.upcasters[typ][fromVersion] = fn
		return nil
	})
}

// WithMiddleware adds middleware; the first added is the outermost.
func WithMiddleware(m ...Middleware) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		for _, x := range m {
			if x == nil {
				return configErr("WithMiddleware", "middleware is nil")
			}
		}
		c.middleware = append(c.middleware, m...)
		return nil
	})
}

// handled lists what the worker advertises: each handler's range, extended down through
// upcasters.
func (c *workerConfig) handled() []HandledType {
	var out []HandledType
	for _, h := range c.handlers {
		lo := h.min
		for lo > 1 && c.upcasters[h.typ][lo-1] != nil {
			lo--
		}
		out = append(out, HandledType{Type: h.typ, MinVersion: lo, MaxVersion: h.max})
	}
	return out
}

// dispatch upcasts m to a handled version and runs its handler.
func (c *workerConfig) dispatch(ctx context.Context, m *Msg) error {
	v := m.Version
	for {
		for _, h := range c.handlers {
			if h.typ == m.Type && h.min <= v && v <= h.max {
				return h.run(ctx, m)
			}
		}
		up := c.upcasters[m.Type][v]
		if up == nil {
			return &DecodeError{Err: fmt.Errorf("no handler or upcaster for %s version %d", m.Type, v)}
		}
		data, err := up(m.Data)
		if err != nil {
			return &DecodeError{Err: fmt.Errorf("upcasting %s from version %d: %w", m.Type, v, err)}
		}
		m.Data = data
		v++
	}
}

// chain is dispatch wrapped in the middleware.
func (c *workerConfig) chain() Next {
	next := Next(c.dispatch)
	for i := len(c.middleware) - 1; i >= 0; i-- {
		next = c.middleware[i](next)
	}
	return next
}
