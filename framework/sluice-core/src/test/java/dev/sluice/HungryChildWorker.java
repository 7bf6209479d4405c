package dev.sluice;

import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.time.Duration;

/** A worker in its own JVM that handles messages slowly until the test kills it. */
public final class HungryChildWorker {
  private HungryChildWorker() {}

  public static void main(String[] args) throws Exception {
    Connection nc = Nats.connect(new Options.Builder().server(args[0]).maxReconnects(-1).build());
    Sluice.using(nc)
        .worker(args[1])
        .workerId("hungry")
        .concurrency(4)
        .prefetch(4)
        .heartbeat(Duration.ofMillis(250))
        .advertTtl(Duration.ofMillis(1000))
        .noReconciler()
        .handle(Codec.utf8(Queues.TYPE, 1), (s, ctx) -> Thread.sleep(20))
        .start();
    Thread.sleep(Long.MAX_VALUE);
  }
}
