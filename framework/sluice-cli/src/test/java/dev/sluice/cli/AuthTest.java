package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testkit.NatsServerExtension;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import picocli.CommandLine;

/** Credentials options against a real server with user/password authorization. */
class AuthTest {
  @RegisterExtension
  static final NatsServerExtension NATS =
      NatsServerExtension.withConfig("authorization {", "  user: alice", "  password: secret", "}");

  static CliHarness.Run cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = SluiceCli.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    return new CliHarness.Run(code, out.toString(), err.toString());
  }

  @Test
  void badCredentialsExitThreeWithOneLine() {
    String url = NATS.server().url();
    CliHarness.Run none = cli("--server", url, "status");
    assertThat(none.code()).isEqualTo(ExitCodes.CONNECT);
    assertThat(none.err()).contains("authorization failed");
    assertThat(none.err().trim().lines().count()).isEqualTo(1);

    CliHarness.Run wrong = cli("--server", url, "--user", "alice", "--password", "wrong", "status");
    assertThat(wrong.code()).isEqualTo(ExitCodes.CONNECT);
    assertThat(wrong.err()).contains("--user/--password");

    CliHarness.Run ok =
        cli("--server", url, "--user", "alice", "--password", "secret", "status", "--json");
    assertThat(ok.code()).as(ok.err()).isZero();
    assertThat(ok.json().map.get("queues").array).isEmpty();
  }
}
