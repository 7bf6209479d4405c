package dev.sluice;

import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import io.nats.client.Nats;

/**
 * A producer in its own JVM whose class path has no Micrometer: prints whether Micrometer could be
 * loaded, then sends one message and prints its stream sequence.
 */
public final class NoMicrometerProducer {
  private NoMicrometerProducer() {}

  public static void main(String[] args) throws Exception {
    try {
      Class.forName("io.micrometer.core.instrument.MeterRegistry");
      System.out.println("MICROMETER PRESENT");
    } catch (ClassNotFoundException expected) {
      System.out.println("NO MICROMETER");
    }
    try (Connection nc = Nats.connect(args[0]);
        QueueProducer p = Sluice.using(nc).producer(args[1]).build()) {
      SendResult r = p.send(OutgoingMessage.of(Codec.utf8(Queues.TYPE, 1), "no-metrics"));
      System.out.println("SENT " + r.streamSequence());
    }
    System.out.flush();
  }
}
