package dev.sluice.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.nats.client.Connection;
import io.nats.client.ErrorListener;
import io.nats.client.Options;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link NatsServer} used as a library, outside the JUnit extensions (as the fault suite does). */
class NatsServerLibraryTest {
  private static List<String> users(boolean denyFoo) {
    return List.of(
        "authorization {",
        "  users = [",
        "    { user: u, password: p,",
        "      permissions: { publish: { allow: \">\""
            + (denyFoo ? ", deny: \"foo.>\"" : "")
            + " }, subscribe: \">\" } }",
        "  ]",
        "}");
  }

  /**
   * The server runs on a copy of its configuration file: a reload that rewrote only the original
   * changed nothing (the server reloaded its unchanged copy), and a scenario that revoked a
   * permission silently tested nothing.
   */
  @Test
  void reloadAppliesNewPermissionsToAConnectedClient(@TempDir Path dir) throws Exception {
    List<String> errors = new CopyOnWriteArrayList<>();
    try (NatsServer s =
        NatsServer.create("n1", NatsServer.freePort(), dir, List.of(), users(false))) {
      s.start();
      try (Connection nc =
          s.connect(
              new Options.Builder()
                  .userInfo("u", "p")
                  .errorListener(
                      new ErrorListener() {
                        @Override
                        public void errorOccurred(Connection conn, String error) {
                          errors.add(error);
                        }
                      }))) {
        nc.publish("foo.x", new byte[0]);
        nc.flush(Duration.ofSeconds(2));
        assertThat(errors).as("allowed before the reload").isEmpty();

        s.reload(users(true));

        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () -> {
                  nc.publish("foo.x", new byte[0]);
                  nc.flush(Duration.ofSeconds(2));
                  assertThat(errors).anyMatch(e -> e.contains("Permissions Violation"));
                });
      }
    }
  }
}
