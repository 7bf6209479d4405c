package dev.sluice.testkit;

import io.nats.Output;
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a test server's console output goes: SLF4J logger {@code dev.sluice.testkit.nats-server},
 * at DEBUG (quiet) unless the system property {@code sluice.nats.server.log} is {@code true}, then
 * at INFO. The runner's own "Stream closed" warning when a server exits (its output reader losing
 * the pipe it was reading) is not an error and is dropped. The last {@value #TAIL} lines are kept
 * whatever the level, so a failure can show what the server said ({@link #tail()}).
 */
final class ServerOutput implements Output {
  /** Set to {@code true} to see the servers' output at INFO. */
  static final String LOG_PROPERTY = "sluice.nats.server.log";

  private static final org.slf4j.Logger LOG =
      LoggerFactory.getLogger("dev.sluice.testkit.nats-server");

  /** Lines kept for {@link #tail()}. */
  static final int TAIL = 60;

  private final boolean loud = Boolean.getBoolean(LOG_PROPERTY);
  private final ArrayDeque<String> tail = new ArrayDeque<>();

  /** The server's last lines, oldest first. */
  List<String> tail() {
    synchronized (tail) {
      return List.copyOf(tail);
    }
  }

  private void keep(String line) {
    synchronized (tail) {
      tail.addLast(line == null ? "" : line);
      while (tail.size() > TAIL) {
        tail.removeFirst();
      }
    }
  }

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
    keep(msg);
    LOG.error("{}", msg);
  }

  @Override
  public void warning(Supplier<String> msg) {
    warning(msg.get());
  }

  @Override
  public void warning(String msg) {
    keep(msg);
    if (isShutdownNoise(msg)) {
      LOG.debug("{}", msg);
    } else {
      LOG.warn("{}", msg);
    }
  }

  @Override
  public void info(Supplier<String> msg) {
    info(msg.get()); // always read: the tail keeps it
  }

  @Override
  public void info(String msg) {
    keep(msg);
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
