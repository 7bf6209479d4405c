package dev.sluice.testkit;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Finds the nats-server binary, in this order: the {@code sluice.nats.server} system property, the
 * {@code NATS_SERVER_PATH} (or {@code SLUICE_NATS_SERVER}) environment variable, then {@code
 * nats-server} in each directory of the {@code PATH}. When none has it, {@link #resolve()} says
 * where it looked and how to set it.
 */
public final class ServerBinary {
  /** System property naming the nats-server binary. */
  public static final String PROPERTY = "sluice.nats.server";

  /** Environment variable naming the nats-server binary. */
  public static final String ENV = "NATS_SERVER_PATH";

  /** A second environment variable naming the binary, the one Sluice's own scripts set. */
  public static final String SCRIPT_ENV = "SLUICE_NATS_SERVER";

  private static final String HOW_TO_SET =
      "install nats-server 2.9.10 or newer (https://github.com/nats-io/nats-server/releases, 'go"
          + " install github.com/nats-io/nats-server/v2@latest' or 'apt-get install nats-server')"
          + " and put it on the PATH, or name the binary with -D"
          + PROPERTY
          + "=/path/to/nats-server (Maven: mvn test -D"
          + PROPERTY
          + "=...) or the environment variable "
          + ENV;

  private ServerBinary() {}

  /**
   * The binary named by the system property or an environment variable, or empty when none is set
   * (then {@link #resolve()} searches the {@code PATH}).
   *
   * @throws IllegalStateException when the named file is not an executable
   */
  public static Optional<Path> path() {
    return configured(System.getProperty(PROPERTY), System::getenv);
  }

  /**
   * The binary to run: the configured one, else {@code nats-server} on the {@code PATH}.
   *
   * @throws IllegalStateException naming where it looked and how to set the binary, when there is
   *     none
   */
  public static Path resolve() {
    return resolve(System.getProperty(PROPERTY), System::getenv);
  }

  static Path resolve(String property, UnaryOperator<String> env) {
    Optional<Path> configured = configured(property, env);
    if (configured.isPresent()) {
      return configured.get();
    }
    String pathVar = env.apply("PATH");
    List<String> looked = new ArrayList<>();
    if (pathVar != null) {
      for (String dir : pathVar.split(File.pathSeparator)) {
        if (dir.isBlank()) {
          continue;
        }
        looked.add(dir);
        Path candidate = Path.of(dir, "nats-server");
        if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    throw new IllegalStateException(
        "no nats-server binary: the system property "
            + PROPERTY
            + " and the environment variables "
            + ENV
            + " and "
            + SCRIPT_ENV
            + " are not set, and no directory of the PATH ("
            + (looked.isEmpty() ? "empty" : String.join(File.pathSeparator, looked))
            + ") has nats-server; "
            + HOW_TO_SET);
  }

  private static Optional<Path> configured(String property, UnaryOperator<String> env) {
    String source = "system property " + PROPERTY;
    String p = property;
    if (p == null || p.isBlank()) {
      source = "environment variable " + ENV;
      p = env.apply(ENV);
    }
    if (p == null || p.isBlank()) {
      source = "environment variable " + SCRIPT_ENV;
      p = env.apply(SCRIPT_ENV);
    }
    if (p == null || p.isBlank()) {
      return Optional.empty();
    }
    Path path = Path.of(p);
    if (!Files.isRegularFile(path) || !Files.isExecutable(path)) {
      throw new IllegalStateException(
          "nats-server binary "
              + path
              + " (from the "
              + source
              + ") "
              + (Files.exists(path) ? "is not an executable file" : "does not exist")
              + "; "
              + HOW_TO_SET);
    }
    return Optional.of(path);
  }
}
