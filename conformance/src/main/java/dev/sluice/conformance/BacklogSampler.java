package dev.sluice.conformance;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Samples the backlog B of a queue every ~15 ms on its own thread until stopped, for the credit
 * bound checks (§5.6). Thread-safe.
 */
final class BacklogSampler {
  final AtomicLong max = new AtomicLong();
  final AtomicLong samples = new AtomicLong();
  private final AtomicBoolean sampling = new AtomicBoolean(true);
  private final Thread thread;

  BacklogSampler(Harness h, String queue) {
    thread =
        new Thread(
            () -> {
              while (sampling.get()) {
                try {
                  max.accumulateAndGet(h.state.backlog(queue), Math::max);
                  samples.incrementAndGet();
                  // Pacing, not a wait for a condition: the sampling rate of the bound check.
                  Thread.sleep(15);
                } catch (InterruptedException e) {
                  return;
                } catch (Exception e) {
                  // a missed sample
                }
              }
            },
            "backlog-sampler");
    thread.setDaemon(true);
    thread.start();
  }

  void stop() throws InterruptedException {
    sampling.set(false);
    thread.join(2000);
  }
}
