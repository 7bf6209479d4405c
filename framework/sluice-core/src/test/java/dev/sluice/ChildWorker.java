package dev.sluice;

import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A worker in its own JVM, for crash tests: it announces each message on core NATS subject {@code
 * <queue>.started} and then hangs in the handler until the test kills it with SIGKILL.
 */
public final class ChildWorker {
  private ChildWorker() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String queue = args[1];
    Connection nc = Nats.connect(new Options.Builder().server(url).maxReconnects(-1).build());
    Sluice.using(nc)
        .worker(queue)
        .workerId("child")
        .sharedIdempotency()
        .noReconciler()
        .handle(
            Codec.utf8(Queues.TYPE, 1),
            (s, ctx) -> {
              nc.publish(queue + ".started", ctx.messageId().getBytes(StandardCharsets.UTF_8));
              nc.flush(Duration.ofSeconds(2));
              Thread.sleep(Long.MAX_VALUE); // killed here, mid-handler, before any effect
            })
        .start();
    Thread.sleep(Long.MAX_VALUE);
  }
}
