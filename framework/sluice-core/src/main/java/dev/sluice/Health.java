package dev.sluice;

/**
 * A worker's health, for readiness and liveness endpoints.
 *
 * @param live the worker's threads are running (restart the process when false)
 * @param ready the worker is pulling work (false while starting, draining, with the circuit open,
 *     or while its stream or consumer is missing)
 * @param state what the worker is doing
 * @param detail what is wrong, or empty
 * @param inFlight messages being handled now
 * @param processed messages handled successfully since start
 * @param deadLettered messages dead-lettered since start
 */
public record Health(
    boolean live,
    boolean ready,
    State state,
    String detail,
    int inFlight,
    long processed,
    long deadLettered) {

  /** What a worker is doing. */
  public enum State {
    /** Pulling and handling work. */
    RUNNING,
    /** The handler failed too often: pulling nothing until a probe succeeds. */
    CIRCUIT_OPEN,
    /** Shutting down: no new pulls, finishing in-flight work. */
    DRAINING,
    /** Shut down. */
    STOPPED,
    /**
     * Cannot do part of its job, see {@code detail}: cannot consume (stream or consumer missing,
     * permission denied), cannot write dead-letter records (those messages stay queued), or the
     * idempotency store fails (finished messages are held unacked until their ids are recorded).
     */
    FAILING
  }
}
