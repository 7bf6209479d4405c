package dev.sluice.internal.wire;

import dev.sluice.Backoff;
import dev.sluice.DeadLetterReason;
import java.time.Duration;

/** The outcome rules of protocol §7.2, as pure functions. */
public final class Classifier {
  private Classifier() {}

  /** The limits that decide outcomes. */
  public record Limits(
      int maxAttempts,
      int maxDeliveries,
      Duration grace,
      Duration graceDelay,
      int maxPayloadBytes) {}

  /** What a worker does with one delivery. */
  public sealed interface Decision permits Run, AckDuplicate, Nak, DeadLetter {}

  /** Decode and run the handler. */
  public record Run() implements Decision {}

  /** Already processed: ack without running the handler. */
  public record AckDuplicate() implements Decision {}

  /** Negative-acknowledge with a delay. */
  public record Nak(Duration delay, String why) implements Decision {}

  /** Dead-letter with a reason. */
  public record DeadLetter(DeadLetterReason reason, String error) implements Decision {}

  /** What the other live workers of the queue advertise for the message at hand (asked lazily). */
  public interface Fleet {
    /** Another live worker advertises the message's type and version. */
    boolean othersHandle();

    /** Another live worker does not. */
    boolean othersDecline();

    /** A fleet of one. */
    Fleet ALONE =
        new Fleet() {
          @Override
          public boolean othersHandle() {
            return false;
          }

          @Override
          public boolean othersDecline() {
            return false;
          }
        };
  }

  /** Answers whether this worker handles a type and version. */
  public interface Handles {
    /** True when some handler is registered for {@code type}. */
    boolean knowsType(String type);

    /** True when {@code type@version} can be decoded (directly or through upcasters). */
    boolean handles(String type, int version);
  }

  /** Why this worker cannot handle a message: a dead-letter reason and its explanation. */
  public record NotHandled(DeadLetterReason reason, String why) {}

  /** The decision that lets a delivery go on to the next rule. */
  public static final Decision GO_ON = new Run();

  /**
   * Steps 1–5 of §7.2: everything decided before the payload is decoded. {@code fleetHandles} says
   * whether another live worker advertises the message's type and version (asked only after the
   * grace period). The worker applies the same rules one at a time, as steps of its chain: {@link
   * #validate}, {@link #notHandled} with {@link #deliveryLimit}, the duplicate check, then {@link
   * #grace}.
   */
  public static Decision beforeHandler(
      HeaderCheck.Result headers,
      int payloadSize,
      long deliveries,
      long ageMillis,
      boolean processedBefore,
      Handles handles,
      Fleet fleet,
      Limits limits) {
    Decision d = validate(headers, payloadSize, limits);
    if (d != GO_ON) {
      return d;
    }
    NotHandled notHandled = notHandled(headers, handles);
    d = deliveryLimit(deliveries, notHandled, fleet, limits);
    if (d != GO_ON) {
      return d;
    }
    if (processedBefore) {
      return new AckDuplicate();
    }
    return grace(notHandled, ageMillis, fleet, limits);
  }

  /** Steps 1–2: well-formed protocol headers and a payload within the size limit. */
  public static Decision validate(HeaderCheck.Result headers, int payloadSize, Limits limits) {
    if (!headers.valid()) {
      return new DeadLetter(headers.reason(), headers.error());
    }
    if (payloadSize > limits.maxPayloadBytes()) {
      return new DeadLetter(
          DeadLetterReason.OVERSIZE,
          "payload of " + payloadSize + " bytes exceeds the limit of " + limits.maxPayloadBytes());
    }
    return GO_ON;
  }

  /** Why this worker cannot handle a valid message, or null when it can. */
  public static NotHandled notHandled(HeaderCheck.Result headers, Handles handles) {
    if (headers.protocol() > Protocol.VERSION) {
      return new NotHandled(
          DeadLetterReason.UNSUPPORTED_PROTOCOL,
          "protocol " + headers.protocol() + " is newer than " + Protocol.VERSION);
    } else if (!handles.knowsType(headers.type())) {
      return new NotHandled(DeadLetterReason.UNKNOWN_TYPE, "no handler for type " + headers.type());
    } else if (!handles.handles(headers.type(), headers.version())) {
      return new NotHandled(
          DeadLetterReason.UNSUPPORTED_VERSION,
          "no handler for " + headers.type() + " version " + headers.version());
    }
    return null;
  }

  /**
   * Step 3: too many deliveries without an outcome ({@code notHandled} from {@link #notHandled}).
   */
  public static Decision deliveryLimit(
      long deliveries, NotHandled notHandled, Fleet fleet, Limits limits) {
    // In a mixed fleet the deliveries may have been other workers' grace NAKs, not crashes.
    if (deliveries > limits.maxDeliveries()
        && !(notHandled != null ? fleet.othersHandle() : fleet.othersDecline())) {
      return new DeadLetter(
          DeadLetterReason.MAX_DELIVERIES,
          "delivered "
              + deliveries
              + " times (limit "
              + limits.maxDeliveries()
              + "): earlier deliveries timed out without an outcome");
    }
    return GO_ON;
  }

  /** Step 5: a message this worker cannot handle waits out the grace period for other workers. */
  public static Decision grace(NotHandled notHandled, long ageMillis, Fleet fleet, Limits limits) {
    if (notHandled == null) {
      return GO_ON;
    }
    String why = notHandled.why();
    if (ageMillis < limits.grace().toMillis()) {
      return new Nak(limits.graceDelay(), why);
    }
    if (fleet.othersHandle()) {
      // Past the grace period, but a live worker advertises it: not ours to dead-letter.
      return new Nak(limits.graceDelay(), why + "; another live worker handles it");
    }
    return new DeadLetter(
        notHandled.reason(), why + " within the grace period of " + limits.grace());
  }

  /** Step 7 of §7.2 after the handler failed on delivery {@code deliveries}. */
  public static Decision afterFailure(
      long deliveries, boolean rejected, String error, Backoff backoff, Limits limits) {
    if (rejected) {
      return new DeadLetter(DeadLetterReason.REJECTED, error);
    }
    if (deliveries >= limits.maxAttempts()) {
      return new DeadLetter(
          DeadLetterReason.MAX_ATTEMPTS,
          "failed on attempt " + deliveries + " of " + limits.maxAttempts() + ": " + error);
    }
    return new Nak(backoff.delay((int) deliveries), "retry");
  }
}
