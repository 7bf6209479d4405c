package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.cli.console.ConsoleServer;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.Options;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import picocli.CommandLine;

/**
 * The console sees and does only what its NATS user may: a user without the operator's rights gets
 * a clear refusal from a write, not a stack trace, and the dead letters stay.
 */
class ConsoleRolesTest {
  @RegisterExtension
  static final NatsServerExtension NATS = NatsServerExtension.withConfig(RolesCliTest.config());

  static ConsoleServer consoleAs(String user) throws Exception {
    CommandLine cl = SluiceCli.commandLine();
    cl.parseArgs(
        "--server",
        NATS.server().url(),
        "--user",
        user,
        "--password",
        user,
        "--timeout",
        "2s",
        "ui",
        "--port=0",
        "--allow-writes");
    UiCommand ui = cl.getSubcommands().get("ui").getCommand();
    return ui.start();
  }

  @Test
  void aUserWithoutWriteRightsGetsAClearRefusal() throws Exception {
    String q = RolesCliTest.Q;
    try (Connection admin =
        NATS.server().connect(new Options.Builder().userInfo("admin", "admin"))) {
      Sluice.using(admin).provision(QueueSpec.of(q));
      Headers h = new Headers();
      h.put("Nats-Msg-Id", "console-dead-1");
      admin
          .jetStream()
          .publish(
              NatsMessage.builder()
                  .subject("sluice.dlq." + q)
                  .headers(h)
                  .data("x".getBytes())
                  .build());

      try (ConsoleServer producer = consoleAs("producer")) {
        ConsoleApiTest.Answer denied =
            ConsoleApiTest.post(
                producer, "/api/queues/" + q + "/dlq/purge", "{}", ConsoleApiTest.WRITE);
        assertThat(denied.status()).isEqualTo(403);
        assertThat(denied.json().get("error").asText())
            .contains("permission denied", "Permissions Violation", "sluice permissions")
            .doesNotContain("Exception");
        assertThat(denied.json().get("exit_code").asInt()).isEqualTo(ExitCodes.CONNECT);
      }
      assertThat(Sluice.using(admin).deadLetters().count(q)).isEqualTo(1);

      try (ConsoleServer operator = consoleAs("operator")) {
        ConsoleApiTest.Answer status = ConsoleApiTest.get(operator, "/api/queues/" + q);
        assertThat(status.status()).isEqualTo(200);
        assertThat(status.json().at("/queues/0/dead_letters").asLong()).isEqualTo(1);
        ConsoleApiTest.Answer purged =
            ConsoleApiTest.post(
                operator, "/api/queues/" + q + "/dlq/purge", "{}", ConsoleApiTest.WRITE);
        assertThat(purged.status()).as(purged.json().toString()).isEqualTo(200);
        assertThat(purged.json().get("purged").asLong()).isEqualTo(1);
      }
    }
  }
}
