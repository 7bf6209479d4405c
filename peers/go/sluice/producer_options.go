package sluice

import "time"

// VersionPolicy is what a producer does when no live worker handles a message's type and
// version (§4.3).
type VersionPolicy int

// Version policies.
const (
	// VersionFail refuses the send with a *VersionError (the default).
	VersionFail VersionPolicy = iota
	// VersionWarn logs once and sends.
	VersionWarn
	// VersionAllow sends without checking.
	VersionAllow
)

type producerConfig struct {
	common
	id             string
	acquireTimeout time.Duration
	prefetch       int
	pullExpiry     time.Duration
	reportInterval time.Duration
	reportTTL      time.Duration
	idleReturn     time.Duration
	publishTimeout time.Duration
	versionPolicy  VersionPolicy
}

// WithProducerID sets the producer id (default "go-" and random hex). It names the producer's
// report (§6.1) and its Sluice-Producer header.
func WithProducerID(id string) ProducerOption {
	return producerOption(func(c *producerConfig) error { c.id = id; return validID("WithProducerID", id) })
}

// WithAcquireTimeout bounds how long a send waits for a credit (default 30 s).
func WithAcquireTimeout(d time.Duration) ProducerOption {
	return producerOption(func(c *producerConfig) error { c.acquireTimeout = d; return positive("WithAcquireTimeout", d) })
}

// WithPrefetch sets how many token pulls may be outstanding while sends wait (default 4).
func WithPrefetch(n int) ProducerOption {
	return producerOption(func(c *producerConfig) error {
		if n < 1 {
			return configErr("WithPrefetch", "must be at least 1, got %d", n)
		}
		c.prefetch = n
		return nil
	})
}

// WithPublishTimeout bounds one publish attempt's wait for its PubAck (default 5 s).
func WithPublishTimeout(d time.Duration) ProducerOption {
	return producerOption(func(c *producerConfig) error { c.publishTimeout = d; return positive("WithPublishTimeout", d) })
}

// WithIdleReturn sets how long a producer with no send waiting keeps unspent credits before it
// returns them (default 500 ms, §6.7).
func WithIdleReturn(d time.Duration) ProducerOption {
	return producerOption(func(c *producerConfig) error { c.idleReturn = d; return positive("WithIdleReturn", d) })
}

// WithVersionPolicy sets the §4.3 policy (default VersionFail).
func WithVersionPolicy(p VersionPolicy) ProducerOption {
	return producerOption(func(c *producerConfig) error {
		if p < VersionFail || p > VersionAllow {
			return configErr("WithVersionPolicy", "unknown policy %d: use VersionFail, VersionWarn or VersionAllow", p)
		}
		c.versionPolicy = p
		return nil
	})
}
