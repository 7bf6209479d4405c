package dev.sluice.bench;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * What the handlers of one pipeline saw: how many messages they finished and, while measuring, the
 * end-to-end latency of each (send time carried in the payload to handler completion).
 */
final class Stats {
  private static final long MAX_MICROS = TimeUnit.MINUTES.toMicros(30);

  private final AtomicLong handled = new AtomicLong();
  private final Histogram latency = new ConcurrentHistogram(MAX_MICROS, 3);
  private final Histogram fromPublish = new ConcurrentHistogram(MAX_MICROS, 3);
  private volatile boolean measuring;

  /** A payload whose first 8 bytes are the send time ({@link System#nanoTime()}). */
  static byte[] payload(int size) {
    byte[] b = new byte[size];
    ByteBuffer.wrap(b).putLong(System.nanoTime());
    return b;
  }

  /** Called by a handler when its work for {@code payload} is done. */
  void handled(byte[] payload) {
    long sentAt = ByteBuffer.wrap(payload).getLong();
    handled.incrementAndGet();
    if (measuring) {
      long micros = (System.nanoTime() - sentAt) / 1000;
      latency.recordValue(Math.max(0, Math.min(MAX_MICROS, micros)));
    }
  }

  /**
   * Also records the part of the latency after the publish: from {@code publishedAtMillis} (the
   * send's {@code Sluice-Sent-At}, stamped when its credit was in hand and it was published) to
   * now. The rest of the end-to-end latency is the wait for a credit inside the producer.
   * Millisecond resolution (the header's), so it is recorded in whole milliseconds.
   */
  void handled(byte[] payload, long publishedAtMillis) {
    handled(payload);
    if (measuring && publishedAtMillis > 0) {
      long micros = (System.currentTimeMillis() - publishedAtMillis) * 1000;
      fromPublish.recordValue(Math.max(0, Math.min(MAX_MICROS, micros)));
    }
  }

  /**
   * The after-publish latency at {@code percentile} in milliseconds, or -1 when none was recorded.
   */
  double fromPublishMs(double percentile) {
    return fromPublish.getTotalCount() == 0
        ? -1
        : fromPublish.getValueAtPercentile(percentile) / 1000.0;
  }

  long handledCount() {
    return handled.get();
  }

  void measure(boolean on) {
    measuring = on;
  }

  /** Latency at {@code percentile} in milliseconds. */
  double percentileMs(double percentile) {
    return latency.getValueAtPercentile(percentile) / 1000.0;
  }

  long latencyCount() {
    return latency.getTotalCount();
  }

  /** Sleeps for the handler's simulated work. */
  static void work(long micros) throws InterruptedException {
    if (micros > 0) {
      Thread.sleep(micros / 1000, (int) (micros % 1000) * 1000);
    }
  }
}
