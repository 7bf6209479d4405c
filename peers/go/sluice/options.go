package sluice

import (
	"log/slog"
	"time"
)

// Option configures both producers and workers: WithLogger, WithMetrics, WithPropagator,
// WithObserver.
type Option interface {
	ProducerOption
	WorkerOption
}

// ProducerOption configures NewProducer.
type ProducerOption interface{ applyProducer(*producerConfig) error }

// WorkerOption configures NewWorker.
type WorkerOption interface{ applyWorker(*workerConfig) error }

// common is what producers and workers share.
type common struct {
	log        *slog.Logger
	metrics    Metrics
	propagator Propagator
	observer   Observer
	// observing and metering are set by WithObserver and WithMetrics: without them a worker
	// builds no per-message event and takes no per-message timing.
	observing, metering bool
}

func defaultCommon() common {
	return common{log: slog.Default(), metrics: noMetrics{}, observer: func(Event) {}}
}

type commonOption func(*common) error

func (o commonOption) applyProducer(c *producerConfig) error { return o(&c.common) }
func (o commonOption) applyWorker(c *workerConfig) error     { return o(&c.common) }

type producerOption func(*producerConfig) error

func (o producerOption) applyProducer(c *producerConfig) error { return o(c) }

type workerOption func(*workerConfig) error

func (o workerOption) applyWorker(c *workerConfig) error { return o(c) }

// WithLogger sets the slog logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return commonOption(func(c *common) error {
		if l == nil {
			return configErr("WithLogger", "logger is nil: pass slog.Default() to keep the default")
		}
		c.log = l
		return nil
	})
}

// WithMetrics sends counters and timings to m.
func WithMetrics(m Metrics) Option {
	return commonOption(func(c *common) error {
		if m == nil {
			return configErr("WithMetrics", "metrics is nil: leave the option out to record nothing")
		}
		c.metrics, c.metering = m, true
		return nil
	})
}

// WithPropagator carries trace context with p (e.g. OpenTelemetry's) instead of the built-in
// W3C traceparent handling.
func WithPropagator(p Propagator) Option {
	return commonOption(func(c *common) error {
		if p == nil {
			return configErr("WithPropagator", "propagator is nil: leave the option out for the built-in W3C traceparent")
		}
		c.propagator = p
		return nil
	})
}

// WithObserver calls o for every event (see Event).
func WithObserver(o Observer) Option {
	return commonOption(func(c *common) error {
		if o == nil {
			return configErr("WithObserver", "observer is nil")
		}
		c.observer, c.observing = o, true
		return nil
	})
}

func positive(option string, d time.Duration) error {
	if d <= 0 {
		return configErr(option, "must be positive, got %s", d)
	}
	return nil
}

func validID(option, id string) error {
	if !ValidID(id) {
		return configErr(option, "%q is not a valid id: use 1 to 64 characters of A-Z a-z 0-9 _ -", id)
	}
	return nil
}
