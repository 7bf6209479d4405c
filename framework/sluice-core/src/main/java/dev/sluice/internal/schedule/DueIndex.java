package dev.sluice.internal.schedule;

import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * The firing process's in-memory view of the schedule stream: the newest entry of each subject,
 * ordered by when it may fire next. Pure (no I/O, no clock of its own); thread-safe.
 */
final class DueIndex {
  /**
   * One schedule awaiting its time.
   *
   * @param subject its subject
   * @param sequence its stream sequence
   * @param dueMs when it is due
   * @param notBeforeMs when it may be tried next: its due time, or later after a held try
   */
  record Slot(String subject, long sequence, long dueMs, long notBeforeMs) {}

  private static final Comparator<Slot> ORDER =
      Comparator.comparingLong(Slot::notBeforeMs)
          .thenComparingLong(Slot::sequence)
          .thenComparing(Slot::subject);

  private final Map<String, Slot> bySubject = new HashMap<>();
  private final TreeSet<Slot> byTime = new TreeSet<>(ORDER);
  // Subjects whose slot is being fired, with that slot's sequence: an older copy is not re-added.
  private final Map<String, Long> firing = new HashMap<>();

  /**
   * Adds or replaces the entry of {@code subject}; an older sequence than the known one is ignored.
   */
  synchronized void offer(String subject, long sequence, long dueMs) {
    Slot known = bySubject.get(subject);
    if (known != null && known.sequence() >= sequence) {
      return;
    }
    Long inFlight = firing.get(subject);
    if (inFlight != null && inFlight >= sequence) {
      return;
    }
    if (known != null) {
      byTime.remove(known);
    }
    Slot s = new Slot(subject, sequence, dueMs, dueMs);
    bySubject.put(subject, s);
    byTime.add(s);
  }

  /** Takes the first slot that may fire at {@code nowMs} and marks it firing; null when none. */
  synchronized Slot pollDue(long nowMs) {
    if (byTime.isEmpty() || byTime.first().notBeforeMs() > nowMs) {
      return null;
    }
    Slot s = byTime.pollFirst();
    bySubject.remove(s.subject());
    firing.put(s.subject(), s.sequence());
    return s;
  }

  /** The firing of {@code s} ended for good (fired, cancelled, or replaced). */
  synchronized void done(Slot s) {
    firing.remove(s.subject(), s.sequence());
  }

  /**
   * The firing of {@code s} must be tried again at {@code atMs} (no credit yet, no worker handles
   * its type); dropped when a newer entry of its subject arrived meanwhile.
   */
  synchronized void retry(Slot s, long atMs) {
    firing.remove(s.subject(), s.sequence());
    Slot known = bySubject.get(s.subject());
    if (known != null && known.sequence() >= s.sequence()) {
      return;
    }
    if (known != null) {
      byTime.remove(known);
    }
    Slot again = new Slot(s.subject(), s.sequence(), s.dueMs(), atMs);
    bySubject.put(s.subject(), again);
    byTime.add(again);
  }

  /** Forgets everything (the firing role was lost). */
  synchronized void clear() {
    bySubject.clear();
    byTime.clear();
    firing.clear();
  }

  /** Schedules known and not firing right now. */
  synchronized int size() {
    return bySubject.size();
  }

  /** Schedules whose due time is at or before {@code nowMs} and that have not fired yet. */
  synchronized int overdue(long nowMs) {
    int n = firing.size();
    for (Slot s : byTime) {
      if (s.dueMs() <= nowMs) {
        n++;
      }
    }
    return n;
  }

  /** The earliest due time known, or {@link Long#MAX_VALUE} when none. */
  synchronized long nextDueMs() {
    long min = Long.MAX_VALUE;
    for (Slot s : byTime) {
      min = Math.min(min, s.dueMs());
    }
    return min;
  }
}
