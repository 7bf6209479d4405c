package dev.sluice.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * sluice.tlsca, sluice.tlscert and sluice.tlskey against a server that requires TLS and a client
 * certificate, with a CA, a server and a client certificate made by {@code openssl} for the test.
 */
class SluiceTlsTest {
  static Path certs;

  @RegisterExtension
  static final NatsServerExtension NATS = NatsServerExtension.withConfig(config());

  static String[] config() {
    try {
      certs = Files.createTempDirectory("sluice-spring-tls-");
      Files.writeString(certs.resolve("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
      openssl("req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=ca");
      openssl("req -x509 -newkey rsa:2048 -nodes -keyout o.key -out other.pem -days 2 -subj /CN=o");
      for (String who : List.of("server", "client")) {
        openssl(
            "req -newkey rsa:2048 -nodes -keyout "
                + who
                + ".key -out "
                + who
                + ".csr -subj /CN=localhost");
        openssl(
            "x509 -req -in "
                + who
                + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out "
                + who
                + ".pem");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("this test needs openssl on the PATH to make certificates", e);
    }
    return new String[] {
      "tls {",
      "  cert_file: \"" + certs.resolve("server.pem") + "\"",
      "  key_file: \"" + certs.resolve("server.key") + "\"",
      "  ca_file: \"" + certs.resolve("ca.pem") + "\"",
      "  verify: true",
      "  timeout: 5",
      "}"
    };
  }

  static void openssl(String args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args.split(" ")));
    Process p = new ProcessBuilder(cmd).directory(certs.toFile()).redirectErrorStream(true).start();
    try {
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException("openssl " + args + ": " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  private ApplicationContextRunner runner() {
    return new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SluiceAutoConfiguration.class))
        .withPropertyValues("sluice.server=" + NATS.server().url(), "sluice.timeout=5s");
  }

  private static String file(String name) {
    return certs.resolve(name).toString();
  }

  @Test
  void aClientCertificateAndTheCaFromProperties() {
    runner()
        .withPropertyValues(
            "sluice.tlsca=" + file("ca.pem"),
            "sluice.tlscert=" + file("client.pem"),
            "sluice.tlskey=" + file("client.key"))
        .run(
            ctx ->
                assertThat(ctx.getBean(Connection.class).getStatus())
                    .isEqualTo(Connection.Status.CONNECTED));
  }

  @Test
  void aCaThatDidNotSignTheServerFailsTheStartSayingWhatToCheck() {
    runner()
        .withPropertyValues(
            "sluice.tlsca=" + file("other.pem"),
            "sluice.tlscert=" + file("client.pem"),
            "sluice.tlskey=" + file("client.key"))
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("TLS handshake with " + NATS.server().url())
                    .hasStackTraceContaining("check sluice.tlsca"));
  }

  @Test
  void aCertificateWithoutItsKeyIsRefused() {
    runner()
        .withPropertyValues("sluice.tlscert=" + file("client.pem"))
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("sluice.tlscert and sluice.tlskey go together"));
  }
}
