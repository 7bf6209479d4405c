package dev.sluice.internal.worker;

import dev.sluice.Health;
import dev.sluice.internal.proto.WorkerState;

/**
 * What state the worker is in: running or shutting down, the circuit, the consuming problem the
 * pull loop diagnosed and the dead-letter problem the settler saw. Thread-safe: written by the pull
 * loop, the settler and {@code close()}, read by anyone.
 */
final class WorkerHealth {
  private final BreakerState breaker;
  private volatile boolean running = true;
  private volatile boolean draining;
  private volatile String problem = "";
  private volatile String deadLetterProblem = "";
  private volatile String storeProblem = "";

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

  /**
   * Records why dead-letter records cannot be written ("" once one is written again): the worker
   * keeps consuming, but reports FAILING, because every message it has to dead-letter stays queued.
   */
  void deadLetterProblem(String p) {
    this.deadLetterProblem = p;
  }

  /**
   * Records why the idempotency store fails ("" once it answers again with nothing held): the
   * worker reports FAILING while finished messages wait for their record and new ones are retried.
   */
  void storeProblem(String p) {
    this.storeProblem = p;
  }

  /** Every current problem, "" when there is none. */
  String reason() {
    StringBuilder b = new StringBuilder();
    for (String p : new String[] {problem, deadLetterProblem, storeProblem}) {
      if (!p.isEmpty()) {
        b.append(b.length() == 0 ? "" : "; ").append(p);
      }
    }
    return b.toString();
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
    } else if (!reason().isEmpty()) {
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
        reason(),
        inFlight,
        processed,
        deadLettered);
  }
}
