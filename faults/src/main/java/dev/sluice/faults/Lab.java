package dev.sluice.faults;

import dev.sluice.testkit.NatsServer;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Everything one scenario starts, and its stop: nats-server processes, proxies, connections, child
 * JVMs and Sluice objects are registered here as they are made and closed in reverse order by
 * {@link #close()}, child JVMs with SIGKILL, so a failed scenario leaves nothing running. Each
 * scenario gets a fresh work directory under the run's directory. Not thread-safe: one scenario
 * thread uses it.
 */
final class Lab implements AutoCloseable {
  private final Path dir;
  private final Progress progress;
  private final Path pidFile;
  private final Deque<AutoCloseable> open = new ArrayDeque<>();
  private final List<Process> children = new ArrayList<>();

  Lab(Path dir, Progress progress, Path pidFile) {
    this.dir = dir;
    this.progress = progress;
    this.pidFile = pidFile;
  }

  /** The scenario's work directory. */
  Path dir() {
    return dir;
  }

  /** Shows {@code status} on the progress line. */
  void status(String status) {
    progress.update(status);
  }

  /** Registers {@code c} to be closed when the scenario ends; returns it. */
  <T extends AutoCloseable> T own(T c) {
    open.push(c);
    return c;
  }

  /**
   * Starts one JetStream server on a free loopback port.
   *
   * @param jetStream lines inside its {@code jetstream} block
   * @param extra lines appended to its configuration
   */
  NatsServer server(String name, List<String> jetStream, List<String> extra) {
    NatsServer s = NatsServer.create(name, NatsServer.freePort(), dir, jetStream, extra);
    own(s);
    s.start();
    recordPid(s);
    return s;
  }

  /** Records a server's pid for the wrapper script's cleanup of a killed runner. */
  void recordPid(NatsServer s) {
    s.pid().ifPresent(this::recordPid);
  }

  /** A connection to any of {@code urls} that reconnects forever. */
  Connection connect(String urls) {
    return connect(urls, new Options.Builder());
  }

  /** As {@link #connect(String)} from a builder carrying credentials or listeners. */
  Connection connect(String urls, Options.Builder b) {
    try {
      Connection nc =
          Nats.connect(
              b.servers(urls.split(","))
                  .maxReconnects(-1)
                  .reconnectWait(Duration.ofMillis(100))
                  .connectionTimeout(Duration.ofSeconds(5))
                  .build());
      return own(nc);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot connect to " + urls, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted connecting to " + urls, e);
    }
  }

  /**
   * Starts {@code main} of this module in a child JVM with the runner's class path; its output goes
   * to {@code <name>.log} in the work directory.
   */
  Process java(String name, Class<?> main, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-Xmx256m");
    cmd.add("-Dsluice.faults.log=" + dir.resolve(name + ".log"));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(main.getName());
    cmd.addAll(List.of(args));
    try {
      Process p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".out").toFile()))
              .start();
      children.add(p);
      recordPid(p.pid());
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start child JVM " + name, e);
    }
  }

  /**
   * Waits until child {@code name} printed a line starting with {@code prefix}; returns the line.
   *
   * @throws IllegalStateException the child exited or said nothing within {@code timeout}
   */
  String awaitLine(String name, Process p, String prefix, Duration timeout) throws Exception {
    Path out = dir.resolve(name + ".out");
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(out)) {
        try (BufferedReader r =
            new BufferedReader(
                new InputStreamReader(Files.newInputStream(out), StandardCharsets.UTF_8))) {
          for (String line; (line = r.readLine()) != null; ) {
            if (line.startsWith(prefix)) {
              return line;
            }
          }
        }
      }
      if (!p.isAlive()) {
        throw new IllegalStateException(
            "child " + name + " exited with " + p.exitValue() + "; see " + out);
      }
      Thread.sleep(100); // polling a file another process writes; no condition to wait on
    }
    throw new IllegalStateException(
        "child " + name + " did not print " + prefix + " within " + timeout + "; see " + out);
  }

  /** Kills {@code p} with SIGKILL and waits until it is gone. */
  void kill9(Process p) throws Exception {
    new ProcessBuilder("kill", "-9", Long.toString(p.pid())).start().waitFor();
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      throw new IllegalStateException("child " + p.pid() + " survived kill -9 for 10 s");
    }
  }

  private void recordPid(long pid) {
    if (pidFile == null) {
      return;
    }
    try {
      Files.writeString(
          pidFile,
          pid + "\n",
          java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      // the wrapper's cleanup is a backstop; close() kills what it started anyway
    }
  }

  @Override
  public void close() {
    for (Process p : children) {
      if (p.isAlive()) {
        p.destroyForcibly();
      }
    }
    while (!open.isEmpty()) {
      try {
        open.pop().close();
      } catch (Exception e) {
        // closing the rest anyway
      }
    }
  }
}
