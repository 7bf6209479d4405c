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

  /**
   * Steps 1–5 of §7.2: everything decided before the payload is decoded. {@code fleetHandles} says
   * whether another live worker advertises the message's type and version (asked only after the
   * grace period).
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
    if (!headers.valid()) {
      return new DeadLetter(headers.reason(), headers.error());
    }
    if (payloadSize > limits.maxPayloadBytes()) {
      return new DeadLetter(
          DeadLetterReason.OVERSIZE,
          "payload of " + payloadSize + " bytes exceeds the limit of " + limits.maxPayloadBytes());
    }
    DeadLetterReason notHandled = null;
    String why = null;
    if (headers.protocol() > Protocol.VERSION) {
      notHandled = DeadLetterReason.UNSUPPORTED_PROTOCOL;
      why = "protocol " + headers.protocol() + " is newer than " + Protocol.VERSION;
    } else if (!handles.knowsType(headers.type())) {
      notHandled = DeadLetterReason.UNKNOWN_TYPE;
      why = "no handler for type " + headers.type();
    } else if (!handles.handles(headers.type(), headers.version())) {
      notHandled = DeadLetterReason.UNSUPPORTED_VERSION;
      why = "no handler for " + headers.type() + " version " + headers.version();
    }
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
    if (processedBefore) {
      return new AckDuplicate();
    }
    if (notHandled != null) {
      if (ageMillis < limits.grace().toMillis()) {
        return new Nak(limits.graceDelay(), why);
      }
      if (fleet.othersHandle()) {
        // Past the grace period, but a live worker advertises it: not ours to dead-letter.
        return new Nak(limits.graceDelay(), why + "; another live worker handles it");
      }
      return new DeadLetter(notHandled, why + " within the grace period of " + limits.grace());
    }
    return new Run();
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
