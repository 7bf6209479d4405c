package dev.sluice.cli;

import static dev.sluice.cli.CliHarness.cliAt;
import static dev.sluice.cli.CliHarness.num;
import static dev.sluice.cli.CliHarness.str;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.CliHarness.Run;
import dev.sluice.testkit.NatsServerExtension;
import java.net.ServerSocket;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Errors from the CLI: one line on stderr, or a JSON object with {@code --json}, and an exit code.
 */
class CliErrorsTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  static Run cli(String... args) {
    return cliAt(NATS.server().url(), args);
  }

  @Test
  void badInputGivesOneLineAndAnExitCode() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Run down = cliAt("nats://127.0.0.1:" + port, "status");
    assertThat(down.code()).isEqualTo(ExitCodes.CONNECT);
    assertThat(down.out()).isEmpty();
    assertThat(down.err().trim().lines().count()).isEqualTo(1);
    assertThat(down.err()).contains("cannot connect").doesNotContain("Exception");

    Run unknown = cli("status", "no-such-queue");
    assertThat(unknown.code()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(unknown.err().trim().lines().count()).isEqualTo(1);
    assertThat(unknown.err()).contains("no-such-queue").contains("not found");

    Run badName = cli("status", "bad.name");
    assertThat(badName.code()).isEqualTo(ExitCodes.USAGE);

    Run badOption = cli("status", "--frobnicate");
    assertThat(badOption.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(badOption.err().trim().lines().count()).isEqualTo(1);

    Run noSelection = cli("dlq", "replay", "x");
    assertThat(noSelection.code()).isEqualTo(ExitCodes.USAGE);

    Run verbose = cliAt("nats://127.0.0.1:" + port, "status", "--verbose");
    assertThat(verbose.err()).contains("at ");
  }

  @Test
  void withJsonEveryErrorIsAJsonObjectOnStdout() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    // A script that reads --json output would otherwise get nothing on stdout and have to scrape
    // stderr for the reason: each error class below must come back as {"error", "exit_code"}.
    Run down = cliAt("nats://127.0.0.1:" + port, "status", "--json");
    Run unknown = cli("status", "no-such-queue", "--json");
    Run badOption = cli("status", "--frobnicate", "--json");
    Run refused = cli("dlq", "purge", "no-such-queue", "--json");
    for (Run r : List.of(down, unknown, badOption, refused)) {
      assertThat(r.code()).as(r.out() + r.err()).isNotZero();
      assertThat(num(r.json(), "exit_code")).isEqualTo(r.code());
      assertThat(str(r.json(), "exit_meaning")).isEqualTo(ExitCodes.meaning(r.code()));
      assertThat(str(r.json(), "error")).isNotBlank();
      assertThat(r.err()).isEmpty();
    }
    assertThat(down.code()).isEqualTo(ExitCodes.CONNECT);
    assertThat(str(down.json(), "error")).contains("cannot connect");
    assertThat(unknown.code()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(str(unknown.json(), "error")).contains("no-such-queue").contains("not found");
    assertThat(badOption.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(str(badOption.json(), "error")).contains("--frobnicate").contains("--help");
  }
}
