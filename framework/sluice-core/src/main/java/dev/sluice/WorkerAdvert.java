package dev.sluice;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One worker's capacity advert as read from the {@code sluice-capacity} bucket (PROTOCOL.md §5.2),
 * from any peer language. An advert is live while its heartbeat plus its TTL is not in the past at
 * the time of the reading; a stale advert is reported too, with {@code live == false}, so that a
 * worker that went silent can be seen. Immutable and thread-safe.
 *
 * @param workerId the worker's id, unique in its queue
 * @param queue the queue it serves
 * @param language the peer's language, e.g. {@code java}, {@code go}, {@code rust}
 * @param protocolVersion the highest protocol version the worker speaks
 * @param state what the worker is doing; only {@link State#RUNNING} workers count in the window
 * @param capacity the credits it advertises (concurrency + prefetch, or from a latency target)
 * @param inFlight messages it holds now
 * @param serviceRate messages it finishes per second (a moving average)
 * @param handled the payload types and version ranges it handles, upcasters included
 * @param heartbeatAt when it last wrote the advert
 * @param ttl how long the advert stays live after {@code heartbeatAt}
 * @param owedCredits credits it owes for finished messages and has not minted yet
 * @param completedTotal messages it finished since it started
 * @param mintedTotal credits it minted since it started
 * @param tokenBatch the token batch it mints with: the queue's, but at most half its capacity
 * @param debt credits it still withholds from its next mints to burn a surplus the reconciler
 *     announced (PROTOCOL.md §5.5, fast burn); already out of circulation; 0 for a worker that
 *     absorbs no debts
 * @param problem why the worker reports itself failing, one {@code <code>: <text>} line per problem
 *     (PROTOCOL.md §5.2: {@code dlq-unwritable}, {@code idempotency-store}, {@code pull-denied},
 *     {@code not-consuming}, or a code of a newer peer); empty when it does not, and always empty
 *     from a peer of an earlier protocol revision. Informational: it changes nothing in the window
 *     or the credits
 * @param pushback the capacity without pushback and the pushback counters (PROTOCOL.md §15.1);
 *     {@link Pushback#NONE} from a worker that does not report them
 * @param live whether the advert was live at the time of the reading
 */
public record WorkerAdvert(
    String workerId,
    String queue,
    String language,
    int protocolVersion,
    State state,
    long capacity,
    long inFlight,
    double serviceRate,
    List<HandledType> handled,
    Instant heartbeatAt,
    Duration ttl,
    long owedCredits,
    long completedTotal,
    long mintedTotal,
    int tokenBatch,
    long debt,
    String problem,
    Pushback pushback,
    boolean live) {

  /** Copies {@code handled}; rejects null names, times, problem and pushback. */
  public WorkerAdvert {
    Objects.requireNonNull(workerId, "workerId");
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(language, "language");
    Objects.requireNonNull(state, "state");
    handled = List.copyOf(handled);
    Objects.requireNonNull(heartbeatAt, "heartbeatAt");
    Objects.requireNonNull(ttl, "ttl");
    Objects.requireNonNull(problem, "problem");
    Objects.requireNonNull(pushback, "pushback");
  }

  /** An advert without pushback fields (a worker of an earlier revision). */
  public WorkerAdvert(
      String workerId,
      String queue,
      String language,
      int protocolVersion,
      State state,
      long capacity,
      long inFlight,
      double serviceRate,
      List<HandledType> handled,
      Instant heartbeatAt,
      Duration ttl,
      long owedCredits,
      long completedTotal,
      long mintedTotal,
      int tokenBatch,
      long debt,
      String problem,
      boolean live) {
    this(
        workerId,
        queue,
        language,
        protocolVersion,
        state,
        capacity,
        inFlight,
        serviceRate,
        handled,
        heartbeatAt,
        ttl,
        owedCredits,
        completedTotal,
        mintedTotal,
        tokenBatch,
        debt,
        problem,
        Pushback.NONE,
        live);
  }

  /**
   * Whether the worker advertises less than it could because its handlers pushed back: it runs, and
   * its {@link #capacity()} is below {@link Pushback#nominalCapacity()}.
   */
  public boolean loweredByPushback() {
    return state == State.RUNNING && capacity < pushback.nominalCapacity();
  }

  /**
   * What a worker reports about downstream pushback (PROTOCOL.md §15.1). All zero from a worker of
   * an earlier revision.
   *
   * @param nominalCapacity the capacity the worker would advertise without pushback (0 while not
   *     running, or unknown)
   * @param pushbacksTotal handler runs that pushed back since the worker started
   * @param decreasesTotal times pushback lowered its capacity since it started
   * @param loweredSince when the current lowered spell began, or null when not lowered
   */
  public record Pushback(
      long nominalCapacity, long pushbacksTotal, long decreasesTotal, Instant loweredSince) {
    /** No pushback fields. */
    public static final Pushback NONE = new Pushback(0, 0, 0, null);
  }

  /** An advert without a problem (a worker that does not report itself failing). */
  public WorkerAdvert(
      String workerId,
      String queue,
      String language,
      int protocolVersion,
      State state,
      long capacity,
      long inFlight,
      double serviceRate,
      List<HandledType> handled,
      Instant heartbeatAt,
      Duration ttl,
      long owedCredits,
      long completedTotal,
      long mintedTotal,
      int tokenBatch,
      long debt,
      boolean live) {
    this(
        workerId,
        queue,
        language,
        protocolVersion,
        state,
        capacity,
        inFlight,
        serviceRate,
        handled,
        heartbeatAt,
        ttl,
        owedCredits,
        completedTotal,
        mintedTotal,
        tokenBatch,
        debt,
        "",
        live);
  }

  /** An advert without a debt (a worker that owes none, or one that absorbs no debts). */
  public WorkerAdvert(
      String workerId,
      String queue,
      String language,
      int protocolVersion,
      State state,
      long capacity,
      long inFlight,
      double serviceRate,
      List<HandledType> handled,
      Instant heartbeatAt,
      Duration ttl,
      long owedCredits,
      long completedTotal,
      long mintedTotal,
      int tokenBatch,
      boolean live) {
    this(
        workerId,
        queue,
        language,
        protocolVersion,
        state,
        capacity,
        inFlight,
        serviceRate,
        handled,
        heartbeatAt,
        ttl,
        owedCredits,
        completedTotal,
        mintedTotal,
        tokenBatch,
        0,
        "",
        live);
  }

  /** Whether the worker reports itself failing: its {@link #problem()} is not empty. */
  public boolean failing() {
    return !problem.isEmpty();
  }

  /** The codes of {@link #problem()} (the text before each line's first colon), in order. */
  public List<String> problemCodes() {
    if (problem.isEmpty()) {
      return List.of();
    }
    return problem
        .lines()
        .map(l -> l.indexOf(':') < 0 ? l.strip() : l.substring(0, l.indexOf(':')).strip())
        .toList();
  }

  /**
   * Whether this worker would handle a message of {@code type} at {@code version}, sent with
   * protocol {@code protocol} (PROTOCOL.md §4.2): the protocol is not newer than the worker's and
   * one of its handled ranges covers the version.
   */
  public boolean handles(int protocol, String type, int version) {
    if (protocol > protocolVersion) {
      return false;
    }
    return handled.stream().anyMatch(h -> h.covers(type, version));
  }

  /** A worker's state as it advertises it. */
  public enum State {
    /** Pulling and handling messages: its capacity counts in the window. */
    RUNNING,
    /** Shutting down: finishing what it holds, pulling nothing new. */
    DRAINING,
    /** Its circuit breaker is open after repeated handler failures: it pulls nothing. */
    CIRCUIT_OPEN,
    /** A state this version of Sluice does not know (a newer peer); treated as not running. */
    UNKNOWN
  }

  /**
   * A payload type and the inclusive range of versions a worker handles.
   *
   * @param type the payload type, e.g. a protobuf full name
   * @param minVersion the oldest version handled (through upcasters if needed)
   * @param maxVersion the newest version handled
   */
  public record HandledType(String type, int minVersion, int maxVersion) {
    /** Rejects a null type. */
    public HandledType {
      Objects.requireNonNull(type, "type");
    }

    /** Whether this range covers {@code type} at {@code version}. */
    public boolean covers(String type, int version) {
      return this.type.equals(type) && minVersion <= version && version <= maxVersion;
    }
  }
}
