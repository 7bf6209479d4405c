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
