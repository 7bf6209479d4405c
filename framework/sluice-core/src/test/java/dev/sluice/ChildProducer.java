package dev.sluice;

import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.time.Duration;

/**
 * A producer in its own JVM, for crash tests: it sends {@code args[2]} messages, keeps holding the
 * rest of its token (idle return of an hour), prints HOLDING, and waits to be killed.
 */
public final class ChildProducer {
  private ChildProducer() {}

  public static void main(String[] args) throws Exception {
    Connection nc = Nats.connect(new Options.Builder().server(args[0]).maxReconnects(-1).build());
    QueueProducer p =
        Sluice.using(nc)
            .producer(args[1])
            .producerId("child")
            .prefetch(1)
            .idleReturn(Duration.ofHours(1))
            .build();
    for (int i = 0; i < Integer.parseInt(args[2]); i++) {
      p.send(OutgoingMessage.of(Codec.utf8(Queues.TYPE, 1), "from-child-" + i));
    }
    System.out.println("HOLDING " + p.creditsHeld());
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
