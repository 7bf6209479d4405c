package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Micrometer is optional ({@code requires static}): a user without it on the class path must be
 * able to build a producer and send, although {@code meterRegistry} names its type.
 */
class ProducerWithoutMicrometerTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  @Test
  void aProducerSendsWithoutMicrometerOnTheClassPath() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      // A standing buffer gives credits without a worker.
      Sluice.using(nc).provision(QueueSpec.builder(q).standingBuffer(4).build());
      String classPath =
          Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
              .filter(entry -> !entry.contains("micrometer"))
              .collect(Collectors.joining(File.pathSeparator));
      Process child =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  classPath,
                  NoMicrometerProducer.class.getName(),
                  NATS.server().url(),
                  q)
              .redirectErrorStream(true)
              .start();
      assertThat(child.waitFor(60, TimeUnit.SECONDS)).as("child finished").isTrue();
      String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      // Without the lazy registry handling, loading the producer fails with NoClassDefFoundError.
      assertThat(out).contains("NO MICROMETER").contains("SENT 1");
      assertThat(child.exitValue()).as(out).isZero();
      assertThat(Queues.backlog(nc, q)).isEqualTo(1);
    }
  }
}
