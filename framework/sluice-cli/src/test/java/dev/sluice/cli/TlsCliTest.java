package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sluice.testkit.NatsServerExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The CLI's {@code --tlsca} against a TLS-only server whose certificate is signed by a CA made with
 * {@code openssl} for this test (skipped when {@code openssl} is missing).
 */
class TlsCliTest {
  static Path certs;

  @RegisterExtension
  static final NatsServerExtension NATS = NatsServerExtension.withConfig(config());

  static String[] config() {
    try {
      certs = Files.createTempDirectory("sluice-tls-");
      Files.writeString(certs.resolve("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
      openssl(
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-keyout",
          "ca.key",
          "-out",
          "ca.pem",
          "-days",
          "2",
          "-subj",
          "/CN=sluice-test-ca");
      openssl(
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-keyout",
          "other.key",
          "-out",
          "other.pem",
          "-days",
          "2",
          "-subj",
          "/CN=some-other-ca");
      openssl(
          "req",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-keyout",
          "server.key",
          "-out",
          "server.csr",
          "-subj",
          "/CN=localhost");
      openssl(
          "x509",
          "-req",
          "-in",
          "server.csr",
          "-CA",
          "ca.pem",
          "-CAkey",
          "ca.key",
          "-CAcreateserial",
          "-out",
          "server.pem",
          "-days",
          "2",
          "-extfile",
          "san.ext");
    } catch (Exception e) {
      certs = null; // no openssl: the tests are skipped, the server runs without TLS
      return new String[0];
    }
    return new String[] {
      "tls {",
      "  cert_file: \"" + certs.resolve("server.pem") + "\"",
      "  key_file: \"" + certs.resolve("server.key") + "\"",
      // The default 0.5 s is shorter than a cold JVM's first handshake on a busy machine.
      "  timeout: 5",
      "}"
    };
  }

  static void openssl(String... args) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(certs.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("openssl " + String.join(" ", args) + ": " + out);
    }
  }

  @Test
  void tlscaVerifiesTheServerAndWithoutItTheConnectionFails() {
    assumeTrue(certs != null, "openssl is not installed");
    String url = NATS.server().url();
    CliHarness.Run ok =
        AuthTest.cli(
            "--server", url, "--tlsca", certs.resolve("ca.pem").toString(), "status", "--json");
    // Without a working --tlsca, operators of a TLS-only server could not use the CLI at all.
    assertThat(ok.code()).as(ok.err()).isZero();
    assertThat(ok.json().map.get("queues").array).isEmpty();

    // A CA that did not sign the server's certificate: the handshake must fail, or --tlsca
    // would verify nothing.
    CliHarness.Run untrusted =
        AuthTest.cli("--server", url, "--tlsca", certs.resolve("other.pem").toString(), "status");
    assertThat(untrusted.code()).isEqualTo(ExitCodes.CONNECT);
  }
}
