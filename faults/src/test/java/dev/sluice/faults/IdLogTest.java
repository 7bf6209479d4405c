package dev.sluice.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The effect log is how child JVMs report what their handlers did. If a line written before a
 * SIGKILL were not readable, or a half-written line were counted, the suite would report a lost
 * message or an effect that never happened.
 */
class IdLogTest {
  @Test
  void linesFromTwoWritersAreAllRead(@TempDir Path dir) {
    Path file = dir.resolve("effects");
    try (IdLog a = new IdLog(file);
        IdLog b = new IdLog(file)) {
      a.append("m-1");
      b.append("m-2");
      a.append("m-1");

      assertThat(new IdLog(file).read()).containsExactly("m-1", "m-2", "m-1");
    }
  }

  @Test
  void aPartLineAtTheEndIsNotCounted(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("effects");
    Files.writeString(file, "m-1\nm-2\nm-", StandardCharsets.UTF_8);

    assertThat(new IdLog(file).read()).containsExactly("m-1", "m-2");
  }

  @Test
  void aMissingFileIsEmpty(@TempDir Path dir) {
    assertThat(new IdLog(dir.resolve("none")).read()).isEmpty();
  }
}
