package dev.sluice.bench;

import dev.sluice.Scheduler;
import dev.sluice.Sluice;
import io.nats.client.Connection;
import java.time.Duration;

/**
 * The child JVM of {@code scripts/bench scheduled}: one {@link Scheduler} competing for the firing
 * role of a queue until it is killed. Arguments: server URL, queue, scheduler id.
 */
public final class ScheduleFirerMain {
  private ScheduleFirerMain() {}

  public static void main(String[] args) throws Exception {
    try (Connection nc = Pipeline.connect(args[0], "bench-firer-" + args[2]);
        Scheduler s =
            Sluice.using(nc)
                .scheduler(args[1])
                .id(args[2])
                .leaseInterval(Duration.ofSeconds(1))
                .maxInFlight(64)
                .start()) {
      System.out.println("started " + args[2]);
      System.out.flush();
      Thread.currentThread().join(); // until killed
    }
  }
}
