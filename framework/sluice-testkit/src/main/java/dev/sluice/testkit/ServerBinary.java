package dev.sluice.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds the nats-server binary: the {@code sluice.nats.server} system property, then the {@code
 * NATS_SERVER_PATH} environment variable, then {@code nats-server} on the {@code PATH}. {@code
 * scripts/setup --print-path} prints a suitable value.
 */
public final class ServerBinary {
  /** System property naming the nats-server binary. */
  public static final String PROPERTY = "sluice.nats.server";

  /** Environment variable naming the nats-server binary. */
  public static final String ENV = "NATS_SERVER_PATH";

  private ServerBinary() {}

  /** The configured binary, or empty to let the runner search the {@code PATH}. */
  public static Optional<Path> path() {
    String p = System.getProperty(PROPERTY);
    if (p == null || p.isBlank()) {
      p = System.getenv(ENV);
    }
    if (p == null || p.isBlank()) {
      return Optional.empty();
    }
    Path path = Path.of(p);
    if (!Files.isExecutable(path)) {
      throw new IllegalStateException(
          "nats-server binary " + path + " is not executable; run scripts/setup --print-path");
    }
    return Optional.of(path);
  }

  static String describe() {
    return path().map(Path::toString).orElse("nats-server on PATH");
  }
}
