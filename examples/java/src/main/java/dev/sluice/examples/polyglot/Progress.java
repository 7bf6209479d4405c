package dev.sluice.examples.polyglot;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** The demo's progress line on stderr, every second: outcomes per worker, backlog, credits. */
final class Progress implements AutoCloseable {
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "polyglot-progress");
            t.setDaemon(true);
            return t;
          });

  Progress(PrintStream err, Sampler sampler, List<Member> workers, long startNanos) {
    timer.scheduleAtFixedRate(
        () -> {
          StringBuilder by = new StringBuilder();
          long total = 0;
          for (Member m : workers) {
            int n = m.processedIds().size();
            total += n;
            by.append(by.isEmpty() ? "" : ", ").append(m.id).append(' ').append(n);
          }
          err.printf(
              Locale.ROOT,
              "%5.1fs processed %d (%s) | backlog %d (max %d), window %d + slack %d | credits %d%n",
              (System.nanoTime() - startNanos) / 1e9,
              total,
              by,
              sampler.backlog(),
              sampler.maxBacklog(),
              sampler.window(),
              sampler.maxSlack(),
              sampler.tokens());
        },
        1,
        1,
        TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
