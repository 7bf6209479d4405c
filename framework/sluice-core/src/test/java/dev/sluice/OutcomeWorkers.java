package dev.sluice;

import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import java.time.Duration;

/**
 * Set-up shared by the worker outcome tests ({@code Worker*OutcomesTest}, {@code
 * WorkerMissingQueueTest}): a provisioned queue and a worker with short heartbeat, advert and
 * reconciler periods so that tests settle in seconds.
 */
final class OutcomeWorkers {
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  private OutcomeWorkers() {}

  static Worker.Builder worker(Sluice sluice, String q) {
    return sluice
        .worker(q)
        .heartbeat(Duration.ofMillis(250))
        .advertTtl(Duration.ofMillis(1000))
        .reconciler(Duration.ofMillis(300));
  }

  static String provision(Connection nc, QueueSpec.Builder spec) {
    QueueSpec s = spec.build();
    Sluice.using(nc).provision(s);
    return s.queue();
  }
}
