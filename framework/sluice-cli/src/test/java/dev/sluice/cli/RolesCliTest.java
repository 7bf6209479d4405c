package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.Options;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import io.nats.client.support.JsonValue;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code sluice permissions} against a server whose users get exactly what it printed: the operator
 * runs {@code status} and {@code dlq purge}, a producer may not purge.
 */
class RolesCliTest {
  static final String Q = "clirole";

  @RegisterExtension
  static final NatsServerExtension NATS = NatsServerExtension.withConfig(config());

  /** The server's users, with the permission blocks the CLI prints (its text output, verbatim). */
  static String[] config() {
    List<String> l = new ArrayList<>();
    l.add("authorization {");
    l.add("  users = [");
    l.add("    { user: admin, password: admin }");
    for (String role : List.of("operator", "producer")) {
      CliHarness.Run r = AuthTest.cli("permissions", "--role", role, "--queue", Q);
      if (r.code() != 0) {
        throw new IllegalStateException(r.err());
      }
      l.add("    { user: " + role + ", password: " + role + ",");
      l.addAll(r.out().lines().toList());
      l.add("    }");
    }
    l.add("  ]");
    l.add("}");
    return l.toArray(new String[0]);
  }

  static List<String> strings(JsonValue v) {
    return v.array.stream().map(x -> x.string).toList();
  }

  @Test
  void jsonIsNatsServersPermissionStructure() {
    CliHarness.Run r = AuthTest.cli("permissions", "--role", "producer", "--queue", Q, "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonValue j = r.json();
    assertThat(j.map.keySet()).containsExactlyInAnyOrder("publish", "subscribe");
    assertThat(j.map.get("publish").map.keySet()).containsExactlyInAnyOrder("allow", "deny");
    // A producer that may publish tokens or adverts can raise the window.
    assertThat(strings(j.map.get("publish").map.get("deny")))
        .contains("sluice.credit.>", "$KV.sluice-capacity.>");
    assertThat(strings(j.map.get("publish").map.get("allow"))).contains("sluice.q." + Q);
    assertThat(strings(j.map.get("subscribe").map.get("allow"))).containsExactly("_INBOX.>");
  }

  @Test
  void badRoleIsAJsonErrorWithJson() {
    CliHarness.Run r = AuthTest.cli("permissions", "--role", "admin", "--queue", Q, "--json");
    assertThat(r.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.json().map.get("error").string).contains("producer, worker or operator");
    CliHarness.Run q = AuthTest.cli("permissions", "--role", "worker", "--queue", "a.b");
    assertThat(q.code()).isEqualTo(ExitCodes.USAGE);
  }

  @Test
  void operatorInspectsAndPurgesAProducerCannotPurge() throws Exception {
    String url = NATS.server().url();
    try (Connection admin =
        NATS.server().connect(new Options.Builder().userInfo("admin", "admin"))) {
      Sluice.using(admin).provision(QueueSpec.of(Q));
      Headers h = new Headers();
      h.put("Nats-Msg-Id", "dead-1");
      admin
          .jetStream()
          .publish(
              NatsMessage.builder()
                  .subject("sluice.dlq." + Q)
                  .headers(h)
                  .data("x".getBytes())
                  .build());
    }
    CliHarness.Run status =
        AuthTest.cli(
            "--server", url, "--user", "operator", "--password", "operator", "status", Q, "--json");
    assertThat(status.code()).as(status.err()).isIn(ExitCodes.OK, ExitCodes.FINDING);
    assertThat(status.queue().map.get("queue").string).isEqualTo(Q);

    // Without the refusal a producer's credentials could erase the dead letters.
    CliHarness.Run denied =
        AuthTest.cli(
            "--server",
            url,
            "--user",
            "producer",
            "--password",
            "producer",
            "--timeout",
            "2s",
            "dlq",
            "purge",
            Q,
            "--yes");
    assertThat(denied.code()).isNotZero();
    assertThat(denied.err()).contains("permission denied").contains("Permissions Violation");

    CliHarness.Run purge =
        AuthTest.cli(
            "--server",
            url,
            "--user",
            "operator",
            "--password",
            "operator",
            "dlq",
            "purge",
            Q,
            "--yes",
            "--json");
    assertThat(purge.code()).as(purge.err()).isZero();
    try (Connection admin =
        NATS.server().connect(new Options.Builder().userInfo("admin", "admin"))) {
      assertThat(Sluice.using(admin).deadLetters().count(Q)).isZero();
    }
  }
}
