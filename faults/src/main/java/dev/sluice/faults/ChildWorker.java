package dev.sluice.faults;

import dev.sluice.Sluice;
import dev.sluice.Worker;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A worker in its own JVM, for the runner to kill with SIGKILL mid-handler. Arguments: server URLs
 * (comma-separated), queue, worker id, effect log, handler time in ms. It runs the suite's handler
 * (take the time, then record the effect), prints {@code READY} once started and runs until killed.
 */
public final class ChildWorker {
  private ChildWorker() {}

  /** Starts the worker; never returns normally. */
  public static void main(String[] args) throws Exception {
    Connection nc =
        Nats.connect(new Options.Builder().servers(args[0].split(",")).maxReconnects(-1).build());
    IdLog effects = new IdLog(Path.of(args[3]));
    Worker w =
        Sluice.using(nc)
            .worker(args[1])
            .workerId(args[2])
            .concurrency(4)
            .prefetch(4)
            .heartbeat(Workload.HEARTBEAT)
            .advertTtl(Workload.ADVERT_TTL)
            .noReconciler()
            .sharedIdempotency()
            .handle(
                Workload.JOB, Workload.handler(effects, Duration.ofMillis(Long.parseLong(args[4]))))
            .start();
    System.out.println("READY " + w.workerId());
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
