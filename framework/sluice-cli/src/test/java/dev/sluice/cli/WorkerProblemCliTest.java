package dev.sluice.cli;

import static dev.sluice.cli.CliHarness.cliAt;
import static dev.sluice.cli.CliHarness.codes;
import static dev.sluice.cli.CliHarness.num;
import static dev.sluice.cli.CliHarness.str;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.DeadLetterPolicy;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.WorkerAdvert;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.support.JsonValue;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A worker that reports itself failing says why in its advert (PROTOCOL.md §5.2 {@code problem}),
 * so {@code workers}, {@code status} and {@code explain} name it without reading its log. Here the
 * dead-letter stream still exists but no longer takes the queue's subject: only the advert tells.
 */
class WorkerProblemCliTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8("test.Job", 1);

  static CliHarness.Run cli(String... args) {
    return cliAt(NATS.server().url(), args);
  }

  @Test
  void workersStatusAndExplainNameAWorkerThatCannotWriteDeadLetters() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.of(q));
      JetStreamManagement jsm = nc.jetStreamManagement();
      try (Worker w = alwaysFailing(sluice, q, JOB, "w-problem");
          QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(20)).build()) {
        StreamConfiguration dlq = unwritableDeadLetters(jsm);
        p.send(OutgoingMessage.of(JOB, "poison"));

        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> !sluice.inspect(q).workers().get(0).problem().isEmpty());
        WorkerAdvert advert = sluice.inspect(q).workers().get(0);
        assertThat(advert.problem()).startsWith("dlq-unwritable: ").contains("SLUICE_DLQ");
        assertThat(advert.problemCodes()).containsExactly("dlq-unwritable");
        assertThat(advert.state())
            .as("informational: the state and the capacity follow their own rules")
            .isEqualTo(WorkerAdvert.State.RUNNING);
        assertThat(advert.capacity()).isPositive();

        JsonValue wj = cli("workers", q, "--json").json().map.get("workers").array.get(0);
        assertThat(str(wj, "problem")).startsWith("dlq-unwritable: ");
        assertThat(cli("workers", q).out())
            .contains("worker " + w.workerId() + " (" + q + ") is failing: dlq-unwritable: ");

        JsonValue status = cli("status", q, "--json").queue();
        assertThat(num(status, "failing_workers")).isEqualTo(1);
        assertThat(str(status, "health")).isEqualTo("degraded");
        assertThat(cli("status", q).out()).contains("1 (1 failing)");

        CliHarness.Run explain = cli("explain", q, "--json");
        assertThat(explain.code()).isEqualTo(ExitCodes.FINDING);
        assertThat(codes(explain)).contains("worker-failing").doesNotContain("dlq-missing");
        JsonValue finding =
            explain.json().map.get("findings").array.stream()
                .filter(f -> "worker-failing".equals(str(f, "code")))
                .findFirst()
                .orElseThrow();
        assertThat(str(finding, "summary")).contains(w.workerId()).contains("dlq-unwritable");
        assertThat(str(finding, "action"))
            .contains("SLUICE_DLQ")
            .contains("sluice.dlq." + q)
            .contains("log");

        jsm.updateStream(dlq);
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> w.deadLetteredCount() == 1 && noProblem(sluice.inspect(q).workers()));
        assertThat(codes(cli("explain", q, "--json"))).doesNotContain("worker-failing");
        assertThat(num(cli("status", q, "--json").queue(), "failing_workers")).isZero();
      }
    }
  }

  /** A worker on {@code q} that fails every message and dead-letters it at the first failure. */
  static Worker alwaysFailing(Sluice sluice, String q, Codec<String> type, String workerId)
      throws Exception {
    return sluice
        .worker(q)
        .workerId(workerId)
        .deadLetter(DeadLetterPolicy.builder().maxAttempts(1).build())
        .handle(
            type,
            (s, ctx) -> {
              throw new IllegalStateException("always fails");
            })
        .start();
  }

  /**
   * Takes the queues' subjects away from the dead-letter stream (the stream stays), so no dead
   * letter can be written; returns its configuration, to put back with {@code updateStream}.
   */
  static StreamConfiguration unwritableDeadLetters(JetStreamManagement jsm) throws Exception {
    StreamConfiguration dlq = jsm.getStreamInfo("SLUICE_DLQ").getConfiguration();
    jsm.updateStream(StreamConfiguration.builder(dlq).subjects("sluice.parked-dlq.>").build());
    return dlq;
  }

  private static boolean noProblem(List<WorkerAdvert> adverts) {
    return !adverts.isEmpty() && adverts.stream().noneMatch(WorkerAdvert::failing);
  }
}
