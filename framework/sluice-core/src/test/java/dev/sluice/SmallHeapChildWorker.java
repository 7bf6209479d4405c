package dev.sluice;

import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import io.nats.client.Nats;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A worker in its own small-heap JVM without Micrometer on its class path: it handles messages with
 * the circuit breaker disabled and announces each on core NATS subject {@code <queue>.handled}.
 */
public final class SmallHeapChildWorker {
  private SmallHeapChildWorker() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String queue = args[1];
    Connection nc = Nats.connect(url);
    Sluice.using(nc)
        .worker(queue)
        .workerId("small-heap")
        .noReconciler()
        .circuitBreaker(CircuitBreakerPolicy.disabled())
        .handle(
            Codec.utf8(Queues.TYPE, 1),
            (s, ctx) -> {
              nc.publish(queue + ".handled", s.getBytes(StandardCharsets.UTF_8));
              nc.flush(Duration.ofSeconds(2));
            })
        .start();
    Thread.sleep(Long.MAX_VALUE);
  }
}
