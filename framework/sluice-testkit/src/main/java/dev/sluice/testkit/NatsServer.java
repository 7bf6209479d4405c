package dev.sluice.testkit;

import io.nats.NatsServerRunner;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One real nats-server process with JetStream, on a loopback port and a store directory of its own.
 * Its port and store survive {@link #kill()} and {@link #restart()}, so a test can crash a server
 * and bring it back with its data.
 *
 * <p>Instances are made by {@link NatsServerExtension} and {@link NatsClusterExtension}; the
 * methods are thread-safe.
 */
public final class NatsServer implements AutoCloseable {
  private final String name;
  private final int port;
  private final Path storeDir;
  private final Path configFile;
  private final Path pidFile;
  private final List<String> jetStreamConfig;
  private NatsServerRunner runner;
  private ServerOutput output = new ServerOutput();

  NatsServer(String name, int port, Path workDir, List<String> extraConfig) {
    this(name, port, workDir, List.of(), extraConfig);
  }

  private NatsServer(
      String name, int port, Path workDir, List<String> jetStreamConfig, List<String> extraConfig) {
    this.name = name;
    this.port = port;
    this.jetStreamConfig = List.copyOf(jetStreamConfig);
    try {
      this.storeDir = Files.createDirectories(workDir.resolve(name + "-store"));
      this.configFile = workDir.resolve(name + ".conf");
      this.pidFile = workDir.resolve(name + ".pid");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare nats-server directory " + workDir, e);
    }
    writeConfig(extraConfig);
  }

  /**
   * A server outside any JUnit extension, for programs that drive real servers themselves (the
   * fault suite). Not started: call {@link #start()}; the caller stops it.
   *
   * @param name the server name (also its cluster peer name)
   * @param port the client port, for example {@link #freePort()}
   * @param workDir where the configuration, pid file and store directory go
   * @param jetStreamConfig lines added inside the {@code jetstream} block (for example {@code
   *     sync_interval: always})
   * @param extraConfig lines appended to the configuration file (cluster, authorization)
   */
  public static NatsServer create(
      String name, int port, Path workDir, List<String> jetStreamConfig, List<String> extraConfig) {
    return new NatsServer(name, port, workDir, jetStreamConfig, extraConfig);
  }

  /** A loopback port that was free a moment ago. */
  public static int freePort() {
    return Ports.free();
  }

  /**
   * Rewrites the lines appended to the configuration file and makes the running server reload it
   * ({@code SIGHUP}), for example to change a user's permissions while clients stay connected.
   */
  public synchronized void reload(List<String> extraConfig) {
    writeConfig(extraConfig);
    if (runner != null) {
      // The runner starts nats-server on a copy of the configuration file: that copy is the one
      // a reload reads.
      try {
        Files.copy(
            configFile,
            Path.of(runner.getConfigFile()),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot update " + runner.getConfigFile(), e);
      }
    }
    signal("HUP");
  }

  private void writeConfig(List<String> extraConfig) {
    StringBuilder conf = new StringBuilder();
    conf.append("server_name: ").append(name).append('\n');
    conf.append("host: 127.0.0.1\n");
    conf.append("port: ").append(port).append('\n');
    conf.append("pid_file: \"").append(pidFile).append("\"\n");
    conf.append("jetstream {\n  store_dir: \"").append(storeDir).append("\"\n");
    conf.append("  max_memory_store: 512MB\n  max_file_store: 4GB\n");
    for (String line : jetStreamConfig) {
      conf.append("  ").append(line).append('\n');
    }
    conf.append("}\n");
    for (String line : extraConfig) {
      conf.append(line).append('\n');
    }
    try {
      Files.writeString(configFile, conf.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + configFile, e);
    }
  }

  /** Starts the process; a no-op when it is already running. */
  public synchronized NatsServer start() {
    if (runner != null && isAlive()) {
      return this;
    }
    Path binary = ServerBinary.resolve();
    output = new ServerOutput();
    try {
      Files.deleteIfExists(pidFile);
      runner =
          NatsServerRunner.builder()
              .port(port)
              .configFilePath(configFile)
              .executablePath(binary)
              .output(output)
              .fullErrorReportOnStartup(true)
              // Up to about 10 s for the port to answer: a loaded CI machine can take seconds to
              // start a JetStream server, and the runner's default gives up after about one.
              .connectValidateTries(100)
              .connectValidateSubsequentDelay(100L)
              .build();
      return this;
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException(
          "nats-server "
              + name
              + " ("
              + binary
              + ") did not start on port "
              + port
              + ": "
              + e.getMessage()
              + "; check that the binary runs ('"
              + binary
              + " --version') and is 2.9.10 or newer (set -D"
              + ServerBinary.PROPERTY
              + "=/path/to/nats-server to use another); -D"
              + ServerOutput.LOG_PROPERTY
              + "=true shows its output\n"
              + describe(),
          e);
    }
  }

  /**
   * What to look at when this server misbehaves: its name, client port, process state, its
   * configuration file (cluster ports and routes included) and the last lines it wrote, whatever
   * the log level of the test run.
   */
  public synchronized String describe() {
    StringBuilder b = new StringBuilder();
    b.append("nats-server ")
        .append(name)
        .append(" (client port ")
        .append(port)
        .append(", ")
        .append(
            pid()
                .map(p -> "pid " + p + (isAlive() ? ", running" : ", exited"))
                .orElse("not running"))
        .append(")\n  configuration ")
        .append(configFile)
        .append(":\n");
    try {
      for (String line : Files.readAllLines(configFile)) {
        b.append("    ").append(line).append('\n');
      }
    } catch (IOException e) {
      b.append("    (unreadable: ").append(e.getMessage()).append(")\n");
    }
    List<String> tail = output.tail();
    b.append("  its last ").append(tail.size()).append(" lines of output:\n");
    for (String line : tail) {
      b.append("    ").append(line).append('\n');
    }
    return b.toString();
  }

  /** The server's client URL, {@code nats://127.0.0.1:<port>}. */
  public String url() {
    return "nats://127.0.0.1:" + port;
  }

  /** The client port; stable across restarts. */
  public int port() {
    return port;
  }

  /** The server name, also its JetStream cluster peer name. */
  public String name() {
    return name;
  }

  /** The JetStream store directory; stable across restarts. */
  public Path storeDir() {
    return storeDir;
  }

  /** The operating-system process id, if the server is running. */
  public synchronized Optional<Long> pid() {
    try {
      if (!Files.exists(pidFile)) {
        return Optional.empty();
      }
      return Optional.of(Long.parseLong(Files.readString(pidFile).trim()));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** True while the process exists (paused counts as alive). */
  public boolean isAlive() {
    return pid().flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false);
  }

  /** Kills the process with SIGKILL, like a machine losing power; returns once it is gone. */
  public synchronized void kill() {
    signal("KILL");
    pid().flatMap(ProcessHandle::of).ifPresent(p -> p.onExit().join());
    runner = null;
  }

  /** Freezes the process with SIGSTOP: its sockets stay open but it answers nothing. */
  public synchronized void pause() {
    signal("STOP");
  }

  /** Thaws a process frozen by {@link #pause()}. */
  public synchronized void resume() {
    signal("CONT");
  }

  /** Kills the process (SIGKILL) and starts it again on the same port and store. */
  public synchronized void restart() {
    if (isAlive()) {
      kill();
    }
    start();
  }

  /** Stops the process gracefully. */
  public synchronized void stop() {
    if (runner != null) {
      try {
        if (isAlive()) {
          resume();
          runner.shutdown(true);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      runner = null;
    }
  }

  /** Opens a client connection that reconnects forever; the caller closes it. */
  public Connection connect() {
    return connect(new Options.Builder());
  }

  /** Opens a client connection from the given builder, pointed at this server. */
  public Connection connect(Options.Builder builder) {
    try {
      return Nats.connect(
          builder
              .server(url())
              .maxReconnects(-1)
              .reconnectWait(Duration.ofMillis(100))
              .connectionTimeout(Duration.ofSeconds(5))
              .build());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot connect to " + url(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while connecting to " + url(), e);
    }
  }

  @Override
  public void close() {
    stop();
  }

  @Override
  public String toString() {
    return name + "@" + url();
  }

  private void signal(String sig) {
    long p =
        pid()
            .orElseThrow(
                () -> new IllegalStateException("nats-server " + name + " is not running"));
    try {
      Process kill = new ProcessBuilder("kill", "-" + sig, Long.toString(p)).inheritIO().start();
      if (kill.waitFor() != 0) {
        throw new IllegalStateException("kill -" + sig + " " + p + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
