package dev.sluice.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The example's Java worker and producer as programs, the way the polyglot demo and a user run
 * them: the producer's JSON summary, the worker's processed lines with the version each order was
 * sent with, and its stopped line on SIGTERM.
 */
class OrdersWorkerTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  private static final ObjectMapper JSON = new ObjectMapper();

  private static Process java(Class<?> main, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
  }

  /** Reads the process's stdout lines into {@code into} on a daemon thread. */
  private static void collect(Process p, List<String> into) {
    Thread t =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  into.add(line);
                }
              } catch (Exception e) {
                // the process ended
              }
            });
    t.setDaemon(true);
    t.start();
  }

  @Test
  void processesBothVersionsPrintsEachAndStopsOnSigterm() throws Exception {
    String queue = NATS.uniqueName("orders");
    String url = NATS.server().url();
    List<String> workerOut = Collections.synchronizedList(new ArrayList<>());
    List<String> producerOut = Collections.synchronizedList(new ArrayList<>());
    Process worker = null;
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(queue).tokenBatch(8).build());
      worker =
          java(OrdersWorker.class, "--server", url, "--queue", queue, "--worker-id", "java-t1");
      collect(worker, workerOut);
      // The producer checks that a live worker handles what it sends: start it after the advert.
      Awaitility.await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () ->
                  sluice.inspect(queue).liveWorkers().stream()
                      .anyMatch(a -> a.workerId().equals("java-t1")));
      Process producer =
          java(OrdersProducer.class, "--server", url, "--queue", queue, "--count", "40", "--json");
      collect(producer, producerOut);
      assertThat(producer.waitFor(90, TimeUnit.SECONDS)).isTrue();
      assertThat(producer.exitValue()).isZero();
      Awaitility.await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> !producerOut.isEmpty() && workerOut.size() >= 40);

      JsonNode summary = JSON.readTree(producerOut.get(producerOut.size() - 1));
      assertThat(summary.get("sent").asLong()).isEqualTo(40);
      assertThat(summary.get("failed").asLong()).isZero();
      assertThat(summary.has("max_credit_wait_ms")).isTrue();

      List<JsonNode> processed = new ArrayList<>();
      for (String line : List.copyOf(workerOut)) {
        processed.add(JSON.readTree(line));
      }
      assertThat(processed)
          .allSatisfy(e -> assertThat(e.get("event").asText()).isEqualTo("processed"));
      assertThat(processed).allSatisfy(e -> assertThat(e.get("lang").asText()).isEqualTo("java"));
      assertThat(processed.stream().map(e -> e.get("id").asText()).distinct().count())
          .isEqualTo(40);
      // Odd orders are sent as version 1 (upcast by the worker), even ones as version 2.
      assertThat(processed)
          .allSatisfy(
              e -> {
                int n = Integer.parseInt(e.get("id").asText().substring("java-".length()));
                assertThat(e.get("version").asInt()).isEqualTo(n % 2 == 1 ? 1 : 2);
              });

      worker.toHandle().destroy(); // SIGTERM
      assertThat(worker.waitFor(30, TimeUnit.SECONDS)).isTrue();
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> workerOut.size() > 40);
      JsonNode stopped = JSON.readTree(workerOut.get(workerOut.size() - 1));
      assertThat(stopped.get("event").asText()).isEqualTo("stopped");
      assertThat(stopped.get("processed").asLong()).isEqualTo(40);
    } finally {
      if (worker != null) {
        worker.destroyForcibly();
      }
    }
  }
}
