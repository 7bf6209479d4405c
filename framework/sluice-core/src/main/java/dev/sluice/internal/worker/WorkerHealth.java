package dev.sluice.internal.worker;

import dev.sluice.Health;
import dev.sluice.internal.proto.WorkerState;

/**
 * What state the worker is in: running or shutting down, the circuit, and the consuming problem the
 * pull loop diagnosed. Thread-safe: written by the pull loop and by {@code close()}, read by
 * anyone.
 */
final class WorkerHealth {
  private final BreakerState breaker;
  private volatile boolean running = true;
  private volatile boolean draining;
  private volatile String problem = "";

  WorkerHealth(BreakerState breaker) {
    this.breaker = breaker;
  }

  boolean running() {
    return running;
  }

  boolean draining() {
    return draining;
  }

  void draining(boolean d) {
    this.draining = d;
  }

  void stopped() {
    this.running = false;
  }

  String problem() {
    return problem;
  }

  /** Records what keeps the worker from consuming ("" when nothing); true if it changed. */
  boolean problem(String p) {
    if (p.equals(problem)) {
      return false;
    }
    problem = p;
    return true;
  }

  /** The state the advert carries (§5.2). */
  WorkerState wireState() {
    if (draining || !running) {
      return WorkerState.WORKER_STATE_DRAINING;
    }
    if (breaker.open()) {
      return WorkerState.WORKER_STATE_CIRCUIT_OPEN;
    }
    return WorkerState.WORKER_STATE_RUNNING;
  }

  /** True when the worker takes work: advertises capacity only then. */
  boolean takingWork() {
    return wireState() == WorkerState.WORKER_STATE_RUNNING && problem.isEmpty();
  }

  Health.State state() {
    if (!running) {
      return Health.State.STOPPED;
    } else if (draining) {
      return Health.State.DRAINING;
    } else if (!problem.isEmpty()) {
      return Health.State.FAILING;
    } else if (breaker.open()) {
      return Health.State.CIRCUIT_OPEN;
    }
    return Health.State.RUNNING;
  }

  Health health(boolean threadsAlive, int inFlight, long processed, long deadLettered) {
    Health.State state = state();
    return new Health(
        threadsAlive || !running,
        state == Health.State.RUNNING,
        state,
        problem,
        inFlight,
        processed,
        deadLettered);
  }
}
