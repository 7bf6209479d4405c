package sluice

import "time"

func atLeast(option string, n, lo int) error {
	if n < lo {
		return configErr(option, "must be at least %d, got %d", lo, n)
	}
	return nil
}

// WithWorkerID sets the worker id (default "go-" and random hex). It keys the worker's advert.
func WithWorkerID(id string) WorkerOption {
	return workerOption(func(c *workerConfig) error { c.id = id; return validID("WithWorkerID", id) })
}

// WithConcurrency sets how many handlers run at once (default 4).
func WithConcurrency(n int) WorkerOption {
	return workerOption(func(c *workerConfig) error { c.concurrency = n; return atLeast("WithConcurrency", n, 1) })
}

// WithWorkerPrefetch sets how many messages a worker holds beyond its running handlers
// (default 4, §7.1).
func WithWorkerPrefetch(n int) WorkerOption {
	return workerOption(func(c *workerConfig) error { c.prefetch = n; return atLeast("WithWorkerPrefetch", n, 0) })
}

// WithCapacity advertises a fixed capacity instead of concurrency + prefetch (§5.2).
func WithCapacity(n uint32) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		c.capacity = n
		return atLeast("WithCapacity", int(n), 1)
	})
}

// WithMaxAttempts sets how many handler attempts a message gets before it is dead-lettered
// "max-attempts" (default 5).
func WithMaxAttempts(n int) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		c.settings.MaxAttempts = n
		return atLeast("WithMaxAttempts", n, 1)
	})
}

// WithMaxDeliveries sets the delivery count past which a message is dead-lettered
// "max-deliveries" (default 10; raised to cover the grace period's NAKs, §7.2).
func WithMaxDeliveries(n int) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		c.settings.MaxDeliveries = n
		return atLeast("WithMaxDeliveries", n, 1)
	})
}

// WithBackoff sets the retry delays (§7.3; default 1 s, ×2, at most 60 s, jitter 0.2).
func WithBackoff(b Backoff) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		if b.InitialMs < 0 || b.Multiplier < 1 || b.MaxDelayMs < b.InitialMs || b.Jitter < 0 || b.Jitter > 1 {
			return configErr("WithBackoff", "need initial ≥ 0, multiplier ≥ 1, max delay ≥ initial and jitter in [0, 1], got %+v", b)
		}
		c.settings.Backoff = b
		return nil
	})
}

// WithGrace sets the grace period for messages this worker does not handle and the NAK delay
// within it (§4.2; default 25 s and 5 s): a mixed fleet's other workers get them meanwhile.
func WithGrace(grace, delay time.Duration) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		if grace < 0 || delay <= 0 {
			return configErr("WithGrace", "need grace ≥ 0 and delay > 0, got %s and %s", grace, delay)
		}
		c.settings.GraceMs, c.settings.GraceDelayMs = grace.Milliseconds(), delay.Milliseconds()
		return nil
	})
}

// WithMaxPayloadBytes dead-letters payloads larger than n bytes as "oversize" (default 1 MiB).
func WithMaxPayloadBytes(n int) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		c.settings.MaxPayloadBytes = n
		return atLeast("WithMaxPayloadBytes", n, 1)
	})
}

// WithTokenBatch sets the largest token this worker mints (a power of two; default and upper
// bound: the queue's token batch, §5.3), further bounded by half its capacity (§5.4).
func WithTokenBatch(n uint32) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		if !IsPowerOfTwo(n) || n > MaxToken {
			return configErr("WithTokenBatch", "must be a power of two between 1 and %d, got %d", MaxToken, n)
		}
		c.tokenBatch = n
		return nil
	})
}

// WithHandlerTimeout bounds one handler run (default 60 s); a handler that runs longer fails
// the attempt (a retry).
func WithHandlerTimeout(d time.Duration) WorkerOption {
	return workerOption(func(c *workerConfig) error { c.handlerTimeout = d; return positive("WithHandlerTimeout", d) })
}

// WithShutdownGrace bounds how long Run waits for running handlers after ctx ends (default 10 s).
func WithShutdownGrace(d time.Duration) WorkerOption {
	return workerOption(func(c *workerConfig) error { c.shutdownGrace = d; return positive("WithShutdownGrace", d) })
}

// WithHeartbeat sets the advert heartbeat and ttl (default 2 s and 6 s; heartbeat ≤ ttl / 2).
func WithHeartbeat(heartbeat, ttl time.Duration) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		c.heartbeat, c.advertTTL = heartbeat, ttl
		if err := positive("WithHeartbeat", heartbeat); err != nil {
			return err
		}
		return positive("WithHeartbeat", ttl)
	})
}

// WithIdempotencyCache sizes the local cache of processed message ids (§9; default 100000 ids
// for 1 h). A redelivered message whose id is in the cache is acked without running a handler.
func WithIdempotencyCache(size int, ttl time.Duration) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		c.cacheSize, c.idemTTL = size, ttl
		if err := atLeast("WithIdempotencyCache", size, 1); err != nil {
			return err
		}
		return positive("WithIdempotencyCache", ttl)
	})
}

// WithReconciler lets this worker take part in the election of the queue's reconciler (§5.5),
// the default, or not. At least one worker of every queue should: only a reconciler mints a
// fresh queue's first credits and heals leaks.
func WithReconciler(on bool) WorkerOption {
	return workerOption(func(c *workerConfig) error { c.reconciler = on; return nil })
}

// WithAuditInterval sets the reconciler's audit interval (default 2 s); the lease lasts three.
func WithAuditInterval(d time.Duration) WorkerOption {
	return workerOption(func(c *workerConfig) error { c.auditInterval = d; return positive("WithAuditInterval", d) })
}

// WithCircuitBreaker sets when the worker stops pulling because its handler fails (§7.6): when
// at least failures of the last window handler runs failed (explicit rejections and payloads that
// do not decode do not count), it advertises CIRCUIT_OPEN with capacity 0, waits delay, then
// pulls one message at a time, each a probe. A probe whose handler succeeds closes the circuit,
// one whose handler fails opens it for another delay; a probe settled without a handler run (a
// rejection, a duplicate, a type not handled here) decides nothing and the next message probes; a
// probe pull that finds the queue empty closes the circuit (an open worker on a queue it serves
// alone gets no credit minted, so no message would ever come to probe with). Only probes decide
// while the circuit is open. Default 10 of 20, 5 s.
func WithCircuitBreaker(failures, window int, delay time.Duration) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		if failures < 1 || window < failures {
			return configErr("WithCircuitBreaker", "need 1 ≤ failures ≤ window, got %d of %d", failures, window)
		}
		c.breakerFailures, c.breakerWindow, c.breakerDelay = failures, window, delay
		return positive("WithCircuitBreaker", delay)
	})
}

// WithoutCircuitBreaker keeps pulling however often the handler fails.
func WithoutCircuitBreaker() WorkerOption {
	return workerOption(func(c *workerConfig) error { c.breakerFailures = 0; return nil })
}

// WithLatencyTarget advertises a capacity from the measured service rate instead of a static one
// (§5.2): concurrency + ceil(rate × wait), bounded by [concurrency, maxCapacity], plus twice the
// token batch for credits in transit, so a message waits about wait in the backlog. The worker
// still holds at most concurrency + prefetch messages at once.
func WithLatencyTarget(wait time.Duration, maxCapacity uint32) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		if maxCapacity < 1 {
			return configErr("WithLatencyTarget", "max capacity must be at least 1")
		}
		c.latencyTarget, c.maxCapacity = wait, maxCapacity
		return positive("WithLatencyTarget", wait)
	})
}

// WithPushback sets the AIMD rule by which a handler's pushback (Overloaded, §15.1) lowers the
// worker's advertised capacity: ×Decrease at most once per DecreaseIntervalMs, +1 per
// IncreaseIntervalMs while handlers succeed (or nothing is in hand) and none pushes back, never
// below Floor. While lowered the worker holds and runs no more messages than the lowered capacity.
// On by default with DefaultPushbackPolicy (×0.5 a second, +1 a second, floor 1).
func WithPushback(p PushbackPolicy) WorkerOption {
	return workerOption(func(c *workerConfig) error {
		if !(p.Decrease > 0 && p.Decrease < 1) {
			return configErr("WithPushback", "Decrease must be in (0, 1), got %v", p.Decrease)
		}
		if p.Floor < 1 {
			return configErr("WithPushback", "Floor must be at least 1 (a floor of 0 would stop the queue when every handler pushes back), got %d", p.Floor)
		}
		if p.DecreaseIntervalMs <= 0 || p.IncreaseIntervalMs <= 0 {
			return configErr("WithPushback", "DecreaseIntervalMs and IncreaseIntervalMs must be positive, got %d and %d",
				p.DecreaseIntervalMs, p.IncreaseIntervalMs)
		}
		c.pushback = &p
		return nil
	})
}

// WithoutPushback keeps the advertised capacity at its configured value whatever the handlers
// answer. A pushback (Overloaded) is still held and retried without counting an attempt (§15.1).
func WithoutPushback() WorkerOption {
	return workerOption(func(c *workerConfig) error { c.pushback = nil; return nil })
}
