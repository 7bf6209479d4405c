package dev.sluice.testkit;

import io.nats.Output;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a test server's console output goes: SLF4J logger {@code dev.sluice.testkit.nats-server},
 * at DEBUG (quiet) unless the system property {@code sluice.nats.server.log} is {@code true}, then
 * at INFO. The runner's own "Stream closed" warning when a server exits (its output reader losing
 * the pipe it was reading) is not an error and is dropped.
 */
final class ServerOutput implements Output {
  /** Set to {@code true} to see the servers' output at INFO. */
  static final String LOG_PROPERTY = "sluice.nats.server.log";

  private static final org.slf4j.Logger LOG =
      LoggerFactory.getLogger("dev.sluice.testkit.nats-server");
  private final boolean loud = Boolean.getBoolean(LOG_PROPERTY);

  @Override
  public void setLevel(Level level) {
    // The SLF4J binding decides.
  }

  @Override
  public void error(Supplier<String> msg) {
    error(msg.get());
  }

  @Override
  public void error(String msg) {
    LOG.error("{}", msg);
  }

  @Override
  public void warning(Supplier<String> msg) {
    warning(msg.get());
  }

  @Override
  public void warning(String msg) {
    if (isShutdownNoise(msg)) {
      LOG.debug("{}", msg);
    } else {
      LOG.warn("{}", msg);
    }
  }

  @Override
  public void info(Supplier<String> msg) {
    if (loud ? LOG.isInfoEnabled() : LOG.isDebugEnabled()) {
      info(msg.get());
    }
  }

  @Override
  public void info(String msg) {
    if (loud) {
      LOG.info("{}", msg);
    } else {
      LOG.debug("{}", msg);
    }
  }

  @Override
  public boolean isLogger() {
    return false;
  }

  @Override
  public Logger getLogger() {
    return null;
  }

  static boolean isShutdownNoise(String msg) {
    return msg != null && msg.contains("while reading output") && msg.contains("Stream closed");
  }
}
