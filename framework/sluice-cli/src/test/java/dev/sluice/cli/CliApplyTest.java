package dev.sluice.cli;

import static dev.sluice.cli.CliHarness.cliAt;
import static dev.sluice.cli.CliHarness.str;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.CliHarness.Run;
import dev.sluice.testkit.NatsServerExtension;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code apply} of the shipped topology against a real nats-server. */
class CliApplyTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  static Run cli(String... args) {
    return cliAt(NATS.server().url(), args);
  }

  @Test
  void applyThenDryRunReportsNoChanges() {
    Run apply = cli("apply", "../../jetstream-config", "--json");
    assertThat(apply.code()).as(apply.err()).isZero();
    assertThat(apply.json().map.get("changes").array).isNotEmpty();
    Run dry = cli("apply", "../../jetstream-config", "--dry-run", "--json");
    assertThat(dry.code()).as(dry.err()).isZero();
    assertThat(dry.json().map.get("changed").bool).isFalse();
    assertThat(
            dry.json().map.get("changes").array.stream()
                .map(c -> str(c, "action"))
                .collect(Collectors.toSet()))
        .containsExactly("unchanged");
    Run text = cli("apply", "../../jetstream-config", "--dry-run");
    assertThat(text.out()).contains("unchanged").contains("SLUICE_DLQ");

    Run missing = cli("apply", "no/such/dir");
    assertThat(missing.code()).isEqualTo(ExitCodes.NOT_FOUND);
  }
}
