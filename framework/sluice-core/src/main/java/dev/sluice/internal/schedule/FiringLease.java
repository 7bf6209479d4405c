package dev.sluice.internal.schedule;

import io.nats.client.JetStreamApiException;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The firing role of one queue (protocol §13.6): a lease in the control bucket, key {@code
 * scheduler.<queue>}, value {@code "<holder> <expires-unix-ms>"} (ASCII), taken with create or
 * compare-and-set on the revision, as the reconciler's lease is. Not thread-safe: one thread
 * renews.
 */
public final class FiringLease {
  /** What the lease read says this process may do. */
  enum Claim {
    CREATE,
    UPDATE,
    STAND_BY
  }

  /**
   * A lease's holder and expiry.
   *
   * @param holder the holder's id
   * @param expiresMs when it lapses, Unix milliseconds
   */
  record Holder(String holder, long expiresMs) {
    byte[] bytes() {
      return (holder + " " + expiresMs).getBytes(StandardCharsets.US_ASCII);
    }

    /** Parses a stored value; null when it is not one (an unreadable lease may be taken). */
    static Holder parse(byte[] v) {
      if (v == null) {
        return null;
      }
      String[] parts = new String(v, StandardCharsets.US_ASCII).trim().split(" ");
      if (parts.length != 2) {
        return null;
      }
      try {
        return new Holder(parts[0], Long.parseLong(parts[1]));
      } catch (NumberFormatException e) {
        return null;
      }
    }
  }

  private final KeyValue control;
  private final String key;
  private final String holderId;
  private final long ttlMs;

  FiringLease(KeyValue control, String queue, String holderId, long ttlMs) {
    this.control = control;
    this.key = ScheduleWire.leaseKey(queue);
    this.holderId = holderId;
    this.ttlMs = ttlMs;
  }

  /**
   * The election rule: no lease, create it; a lease that is unreadable, this process's own, or
   * lapsed at {@code nowMs}, take it over; otherwise stand by.
   */
  static Claim claim(boolean exists, Holder current, String holderId, long nowMs) {
    if (!exists) {
      return Claim.CREATE;
    }
    if (current == null || current.holder().equals(holderId) || current.expiresMs() < nowMs) {
      return Claim.UPDATE;
    }
    return Claim.STAND_BY;
  }

  /** One round: true when this process holds the lease until {@code nowMs + ttl}. */
  boolean renew(long nowMs) throws IOException, JetStreamApiException {
    KeyValueEntry e = control.get(key);
    boolean exists = e != null && e.getValue() != null;
    Holder current = exists ? Holder.parse(e.getValue()) : null;
    byte[] mine = new Holder(holderId, nowMs + ttlMs).bytes();
    try {
      switch (claim(exists, current, holderId, nowMs)) {
        case CREATE -> control.create(key, mine);
        case UPDATE -> control.update(key, mine, e.getRevision());
        default -> {
          return false;
        }
      }
      return true;
    } catch (JetStreamApiException lost) {
      return false; // another process won this round
    }
  }

  /** Gives the lease up if this process holds it, so a successor need not wait for it to lapse. */
  void release() throws IOException, JetStreamApiException {
    KeyValueEntry e = control.get(key);
    if (e != null && e.getValue() != null) {
      Holder current = Holder.parse(e.getValue());
      if (current != null && current.holder().equals(holderId)) {
        try {
          control.update(key, new Holder(holderId, 0).bytes(), e.getRevision());
        } catch (JetStreamApiException raced) {
          // someone took it meanwhile: nothing to give up
        }
      }
    }
  }

  /** The id of the process holding a live firing lease at {@code nowMs}, if any. */
  public static Optional<String> holder(KeyValue control, String queue, long nowMs)
      throws IOException, JetStreamApiException {
    KeyValueEntry e = control.get(ScheduleWire.leaseKey(queue));
    Holder h = e == null ? null : Holder.parse(e.getValue());
    return h == null || h.expiresMs() < nowMs ? Optional.empty() : Optional.of(h.holder());
  }
}
