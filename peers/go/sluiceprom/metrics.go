// Package sluiceprom adapts sluice.Metrics to Prometheus: counters become <name>_total and
// timers histograms of seconds, with dots turned into underscores (sluice.processed →
// sluice_processed_total, sluice.credit.wait → sluice_credit_wait_seconds). It is a module of its
// own so that the library does not depend on the Prometheus client.
package sluiceprom

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is a sluice.Metrics on a Prometheus registry. Safe for concurrent use.
type Metrics struct {
	reg    prometheus.Registerer
	labels prometheus.Labels

	mu         sync.Mutex
	counters   map[string]prometheus.Counter
	histograms map[string]prometheus.Observer
}

// New returns metrics registered on reg, each with the constant labels (e.g. the queue's name,
// to tell several workers of one process apart); reg nil means prometheus.DefaultRegisterer.
func New(reg prometheus.Registerer, labels prometheus.Labels) *Metrics {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	return &Metrics{reg: reg, labels: labels, counters: map[string]prometheus.Counter{},
		histograms: map[string]prometheus.Observer{}}
}

func promName(name string) string { return strings.NewReplacer(".", "_", "-", "_").Replace(name) }

// Add adds delta to the counter <name>_total.
func (m *Metrics) Add(name string, delta int64) {
	m.mu.Lock()
	c, ok := m.counters[name]
	if !ok {
		c = register(m.reg, prometheus.NewCounter(prometheus.CounterOpts{Name: promName(name) + "_total",
			Help: "Sluice counter " + name + ".", ConstLabels: m.labels}))
		m.counters[name] = c
	}
	m.mu.Unlock()
	c.Add(float64(delta))
}

// Observe records d in the histogram <name>_seconds.
func (m *Metrics) Observe(name string, d time.Duration) {
	m.mu.Lock()
	h, ok := m.histograms[name]
	if !ok {
		h = register(m.reg, prometheus.NewHistogram(prometheus.HistogramOpts{Name: promName(name) + "_seconds",
			Help: "Sluice timer " + name + ", in seconds.", ConstLabels: m.labels,
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}))
		m.histograms[name] = h
	}
	m.mu.Unlock()
	h.Observe(d.Seconds())
}

// register registers c, or returns the collector already registered under its name (two Metrics
// with the same labels share it).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
