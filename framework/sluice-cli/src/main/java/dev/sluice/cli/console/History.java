package dev.sluice.cli.console;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The last {@code capacity} samples of each queue (a ring buffer per queue), so that a page opened
 * now already has minutes of backlog, window and throughput to draw. Thread-safe.
 */
final class History {
  /** The series kept, in the order the API lists them; each is a field of {@code status}. */
  static final List<String> SERIES =
      List.of(
          "backlog",
          "window",
          "credits_available",
          "producers_waiting",
          "in_flight",
          "service_rate",
          "dead_letters");

  private final int capacity;
  private final Map<String, Ring> rings = new LinkedHashMap<>();

  History(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1");
    }
    this.capacity = capacity;
  }

  /** Adds one sample of {@code queue} taken at {@code timeMs}; values in {@link #SERIES} order. */
  synchronized void add(String queue, long timeMs, double[] values) {
    if (values.length != SERIES.size()) {
      throw new IllegalArgumentException("expected " + SERIES.size() + " values");
    }
    rings.computeIfAbsent(queue, q -> new Ring(capacity)).add(timeMs, values.clone());
  }

  /** Forgets queues that no longer exist. */
  synchronized void retain(Set<String> queues) {
    rings.keySet().retainAll(queues);
  }

  /** Number of samples held for {@code queue}. */
  synchronized int size(String queue) {
    Ring r = rings.get(queue);
    return r == null ? 0 : r.size;
  }

  /**
   * Every queue's samples, oldest first, in columns: {@code {queue: {"t": [unix ms], "backlog":
   * [...], ...}}}; a value the server did not report (NaN) is null.
   */
  synchronized Map<String, Map<String, List<Number>>> columns() {
    Map<String, Map<String, List<Number>>> out = new LinkedHashMap<>();
    rings.forEach((q, r) -> out.put(q, r.columns()));
    return out;
  }

  /** A whole value as a long (JSON {@code 3}, not {@code 3.0}), as the CLI's documents write it. */
  private static Number whole(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? (Number) (long) v : (Number) v;
  }

  private static final class Ring {
    private final long[] times;
    private final double[][] values;
    private int next;
    private int size;

    Ring(int capacity) {
      times = new long[capacity];
      values = new double[capacity][];
    }

    void add(long t, double[] v) {
      times[next] = t;
      values[next] = v;
      next = (next + 1) % times.length;
      size = Math.min(size + 1, times.length);
    }

    Map<String, List<Number>> columns() {
      Map<String, List<Number>> c = new LinkedHashMap<>();
      List<Number> t = new ArrayList<>(size);
      c.put("t", t);
      for (String s : SERIES) {
        c.put(s, new ArrayList<>(size));
      }
      int start = (next - size + times.length) % times.length;
      for (int i = 0; i < size; i++) {
        int k = (start + i) % times.length;
        t.add(times[k]);
        for (int j = 0; j < SERIES.size(); j++) {
          double v = values[k][j];
          c.get(SERIES.get(j)).add(Double.isNaN(v) ? null : whole(v));
        }
      }
      return c;
    }
  }
}
