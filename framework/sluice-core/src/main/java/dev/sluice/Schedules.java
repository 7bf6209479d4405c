package dev.sluice;

import dev.sluice.internal.schedule.FiringLease;
import dev.sluice.internal.schedule.ScheduleEntry;
import dev.sluice.internal.schedule.ScheduleStore;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The schedules stored for one queue: list, show, cancel, summarise. Reads consume nothing.
 * Thread-safe.
 */
public final class Schedules {
  /**
   * What is scheduled.
   *
   * @param count schedules stored
   * @param nextDue the earliest due time, empty when none
   * @param overdue schedules already due and not fired yet (they wait for a credit, a firer, or a
   *     worker that handles their type)
   * @param oldestLateness how late the most overdue one is
   * @param firer the id of the scheduler holding the firing lease, empty when none holds a live one
   *     (then nothing fires: start a {@link Scheduler})
   */
  public record Summary(
      long count,
      Optional<Instant> nextDue,
      long overdue,
      Duration oldestLateness,
      Optional<String> firer) {}

  private final ScheduleStore store;
  private final Connection nc;

  Schedules(ScheduleStore store, Connection nc) {
    this.store = store;
    this.nc = nc;
  }

  /**
   * Up to {@code max} schedules, earliest due first.
   *
   * @throws TopologyException the queue has no schedule stream
   */
  public List<ScheduledMessage> list(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("max < 1: " + max);
    }
    return store.readAll(Integer.MAX_VALUE).stream()
        .map(Schedules::of)
        .sorted(Comparator.comparing(ScheduledMessage::dueAt))
        .limit(max)
        .toList();
  }

  /** The schedule stored under {@code id} (message id or schedule id), if any. */
  public Optional<ScheduledMessage> find(String id) {
    return store.find(id).map(Schedules::of);
  }

  /** Cancels the schedule stored under {@code id}; false when there is none. */
  public boolean cancel(String id) {
    return store.cancel(id);
  }

  /** Schedules stored now (one cheap request). */
  public long count() {
    return store.count();
  }

  /** Count, next due time and overdue ones at {@code now} (reads every schedule). */
  public Summary summary(Instant now) {
    List<ScheduleEntry> all = store.readAll(Integer.MAX_VALUE);
    long nowMs = now.toEpochMilli();
    long min = Long.MAX_VALUE;
    long overdue = 0;
    for (ScheduleEntry e : all) {
      min = Math.min(min, e.dueMs());
      if (e.dueMs() <= nowMs) {
        overdue++;
      }
    }
    Optional<Instant> next =
        min == Long.MAX_VALUE ? Optional.empty() : Optional.of(Instant.ofEpochMilli(min));
    Duration oldest = min < nowMs ? Duration.ofMillis(nowMs - min) : Duration.ZERO;
    return new Summary(all.size(), next, overdue, oldest, firer(nowMs));
  }

  private Optional<String> firer(long nowMs) {
    try {
      return FiringLease.holder(nc.keyValue(Protocol.CONTROL_BUCKET), store.queue(), nowMs);
    } catch (IOException | JetStreamApiException e) {
      throw new SluiceException("reading the firing lease failed: " + e.getMessage(), e);
    }
  }

  static ScheduledMessage of(ScheduleEntry e) {
    Map<String, List<String>> h = new LinkedHashMap<>();
    for (String k : e.headers().keySet()) {
      h.put(k, List.copyOf(e.headers().get(k)));
    }
    long created = e.createdMs();
    return new ScheduledMessage(
        e.id(),
        Instant.ofEpochMilli(e.dueMs()),
        e.cron(),
        e.zone(),
        e.type(),
        e.version(),
        e.producer(),
        created == 0 ? null : Instant.ofEpochMilli(created),
        e.sequence(),
        e.traceparent(),
        h,
        e.body());
  }
}
