package dev.sluice.internal.worker;

import dev.sluice.Health;
import dev.sluice.internal.proto.WorkerState;

/**
 * What state the worker is in: running or shutting down, the circuit, the consuming problem the
 * pull loop diagnosed and the dead-letter problem the settler saw. Thread-safe: written by the pull
 * loop, the settler and {@code close()}, read by anyone.
 */
final class WorkerHealth {
  /** Problem codes of the advert (PROTOCOL.md §5.2). */
  static final String PULL_DENIED = "pull-denied";

  static final String NOT_CONSUMING = "not-consuming";
  static final String DLQ_UNWRITABLE = "dlq-unwritable";
  static final String IDEMPOTENCY_STORE = "idempotency-store";

  /** Bytes of one line's text: three lines stay under the spec's 2048 bytes. */
  static final int TEXT_MAX_BYTES = 600;

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

  /**
   * The advert's {@code problem} (PROTOCOL.md §5.2): one {@code <code>: <text>} line per current
   * problem, "" when there is none. Informational: nothing in the window or the credits reads it.
   */
  String advertProblem() {
    StringBuilder b = new StringBuilder();
    line(b, problem.startsWith(PullLoop.DENIED_PULLS) ? PULL_DENIED : NOT_CONSUMING, problem);
    line(b, DLQ_UNWRITABLE, deadLetterProblem);
    line(b, IDEMPOTENCY_STORE, storeProblem);
    return b.toString();
  }

  private static void line(StringBuilder b, String code, String text) {
    if (text.isEmpty()) {
      return;
    }
    if (b.length() > 0) {
      b.append('\n');
    }
    b.append(code).append(": ").append(cut(text.replaceAll("[\\r\\n]+", " ")));
  }

  /** {@code text} cut to at most {@link #TEXT_MAX_BYTES} UTF-8 bytes, whole code points only. */
  static String cut(String text) {
    int bytes = 0;
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (bytes + n > TEXT_MAX_BYTES) {
        return text.substring(0, i);
      }
      bytes += n;
      i += Character.charCount(cp);
    }
    return text;
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
