package dev.sluice.examples.polyglot;

import dev.sluice.QueueInspection;
import dev.sluice.Sluice;
import dev.sluice.WorkerAdvert;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Samples a queue through the library's read model while the demo runs: the backlog B every 100 ms,
 * and every second a whole {@link QueueInspection} for the window W, the credits T and the slack of
 * PROTOCOL.md §5.6 ({@code Σ live workers (b' − 1) + live producers × b}). Keeps the largest of
 * each. Thread-safe.
 */
final class Sampler implements AutoCloseable {
  static final long BACKLOG_EVERY_MS = 100;
  private static final int INSPECT_EVERY = 10;

  private final Sluice sluice;
  private final String queue;
  private final ScheduledExecutorService timer;
  private final AtomicLong samples = new AtomicLong();
  private final AtomicLong backlog = new AtomicLong();
  private final AtomicLong maxBacklog = new AtomicLong();
  private final AtomicLong window = new AtomicLong();
  private final AtomicLong maxWindow = new AtomicLong();
  private final AtomicLong maxSlack = new AtomicLong();
  private final AtomicLong tokens = new AtomicLong();

  Sampler(Sluice sluice, String queue) {
    this.sluice = sluice;
    this.queue = queue;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "polyglot-sampler");
              t.setDaemon(true);
              return t;
            });
    timer.scheduleWithFixedDelay(this::sample, 0, BACKLOG_EVERY_MS, TimeUnit.MILLISECONDS);
  }

  private void sample() {
    try {
      long n = samples.incrementAndGet();
      long b;
      if (n % INSPECT_EVERY == 1) {
        QueueInspection in = sluice.inspect(queue);
        b = in.backlog();
        inspected(in);
      } else {
        b = sluice.backlog(queue);
      }
      backlog.set(b);
      maxBacklog.accumulateAndGet(b, Math::max);
    } catch (RuntimeException e) {
      // a missed sample; the next one tells
    }
  }

  private void inspected(QueueInspection in) {
    window.set(in.window());
    maxWindow.accumulateAndGet(in.window(), Math::max);
    tokens.set(in.tokens());
    long slack = (long) in.liveProducers().size() * in.effectiveTokenBatch();
    for (WorkerAdvert w : in.liveWorkers()) {
      slack += Math.max(0, w.tokenBatch() - 1);
    }
    maxSlack.accumulateAndGet(slack, Math::max);
  }

  long samples() {
    return samples.get();
  }

  long backlog() {
    return backlog.get();
  }

  long maxBacklog() {
    return maxBacklog.get();
  }

  /** W at the last inspection. */
  long window() {
    return window.get();
  }

  /** The largest W seen: the whole fleet's window. */
  long maxWindow() {
    return maxWindow.get();
  }

  long maxSlack() {
    return maxSlack.get();
  }

  /** T at the last inspection. */
  long tokens() {
    return tokens.get();
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
