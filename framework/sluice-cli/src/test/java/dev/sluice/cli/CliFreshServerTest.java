package dev.sluice.cli;

import static dev.sluice.cli.CliHarness.str;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.CliHarness.Run;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.support.JsonValue;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The CLI on a server where Sluice was never provisioned (nothing here creates anything). */
class CliFreshServerTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  static Run cli(String... args) {
    return CliHarness.cliAt(NATS.server().url(), args);
  }

  @Test
  void creditsWithNoQueuesSaysSo() {
    Run r = cli("credits");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("no Sluice queues").contains("sluice apply");
  }

  @Test
  void applyDryRunSaysWhatItWouldCreateAndCreatesNothing() {
    Run dry = cli("apply", "../../jetstream-config", "--dry-run");
    assertThat(dry.code()).as(dry.err()).isIn(ExitCodes.OK, ExitCodes.FINDING);
    assertThat(dry.err()).isEmpty();
    assertThat(dry.out()).contains("would-create").doesNotContain("would-change (new)");

    Run json = cli("apply", "../../jetstream-config", "--dry-run", "--json");
    assertThat(json.code()).isZero();
    List<JsonValue> changes = json.json().map.get("changes").array;
    assertThat(changes)
        .isNotEmpty()
        .allSatisfy(c -> assertThat(str(c, "action")).isEqualTo("would_create"));

    assertThat(cli("status").out()).contains("no Sluice queues");
  }
}
