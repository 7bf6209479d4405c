package dev.sluice.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the kit looks for nats-server, and what it says when there is none. */
class ServerBinaryTest {
  @Test
  void withoutABinaryItSaysWhereItLookedAndHowToSetOne(@TempDir Path empty) {
    Map<String, String> env = Map.of("PATH", empty + ":/no/such/dir");
    assertThatThrownBy(() -> ServerBinary.resolve(null, env::get))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no nats-server binary")
        .hasMessageContaining(empty.toString())
        .hasMessageContaining("/no/such/dir")
        .hasMessageContaining("-Dsluice.nats.server=")
        .hasMessageContaining("NATS_SERVER_PATH")
        .hasMessageContaining("PATH")
        .hasMessageNotContaining("scripts/setup");
  }

  @Test
  void findsNatsServerOnThePath(@TempDir Path dir) throws Exception {
    Path bin = executable(dir.resolve("nats-server"));
    Map<String, String> env = Map.of("PATH", "/no/such/dir:" + dir);
    assertThat(ServerBinary.resolve(null, env::get)).isEqualTo(bin);
  }

  @Test
  void thePropertyWinsOverTheEnvironmentAndThePath(@TempDir Path dir) throws Exception {
    Path viaProperty = executable(dir.resolve("a"));
    Path viaEnv = executable(dir.resolve("b"));
    executable(dir.resolve("nats-server"));
    Map<String, String> env = Map.of("PATH", dir.toString(), ServerBinary.ENV, viaEnv.toString());
    assertThat(ServerBinary.resolve(viaProperty.toString(), env::get)).isEqualTo(viaProperty);
    assertThat(ServerBinary.resolve(null, env::get)).isEqualTo(viaEnv);
    Map<String, String> scriptsEnv = Map.of(ServerBinary.SCRIPT_ENV, viaEnv.toString());
    assertThat(ServerBinary.resolve("", scriptsEnv::get)).isEqualTo(viaEnv);
  }

  @Test
  void aNamedBinaryThatIsMissingIsNamedWithItsSource(@TempDir Path dir) {
    Path missing = dir.resolve("nats-server-2.12");
    Map<String, String> env = Map.of(ServerBinary.ENV, missing.toString());
    assertThatThrownBy(() -> ServerBinary.resolve(null, env::get))
        .hasMessageContaining(missing.toString())
        .hasMessageContaining("does not exist")
        .hasMessageContaining("environment variable NATS_SERVER_PATH");
  }

  private static Path executable(Path p) throws Exception {
    Files.writeString(p, "#!/bin/sh\n");
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return p;
  }
}
