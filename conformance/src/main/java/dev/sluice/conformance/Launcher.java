package dev.sluice.conformance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Starts peers of any language as processes through the {@code peers/README.md} command-line
 * contract, and stops them: every process it started, at the end of a scenario or of the run. Every
 * pid goes to the pid file, so {@code scripts/conformance} can kill what a killed runner left.
 * Thread-safe.
 */
final class Launcher {
  /** How long a peer has to exit after SIGTERM before it is killed. */
  static final long STOP_TIMEOUT_MS = 25_000;

  private final String goBin;
  private final String rustBin;
  private final Path logs;
  private final Path pidFile;
  private final List<Peer> started = Collections.synchronizedList(new ArrayList<>());

  Launcher(String goBin, String rustBin, Path logs, Path pidFile) {
    this.goBin = goBin;
    this.rustBin = rustBin;
    this.logs = logs;
    this.pidFile = pidFile;
  }

  Path logs() {
    return logs;
  }

  /** Starts {@code <peer of lang> args...}; its stderr goes to a log file named after it. */
  Peer start(String lang, String role, String id, List<String> args) throws IOException {
    List<String> cmd = new ArrayList<>(command(lang));
    cmd.addAll(args);
    Peer p = new Peer(lang, role, id, cmd, logs);
    started.add(p);
    recordPid(pidFile, p.pid());
    return p;
  }

  private List<String> command(String lang) {
    return switch (lang) {
      case "go" -> List.of(goBin);
      case "rust" -> List.of(rustBin);
      case "java" ->
          List.of(
              Path.of(System.getProperty("java.home"), "bin", "java").toString(),
              "-XX:+UseSerialGC",
              "-XX:TieredStopAtLevel=1",
              "-Xmx256m",
              "-cp",
              System.getProperty("java.class.path"),
              JavaPeer.class.getName());
      default -> throw new IllegalArgumentException("no peer for language " + lang);
    };
  }

  /** SIGTERM to every peer still running, then SIGKILL to those not gone after 25 s. */
  void stopAll() {
    List<Peer> all = snapshot();
    for (Peer p : all) {
      if (p.alive()) {
        p.terminate();
      }
    }
    for (Peer p : all) {
      try {
        if (p.awaitExit(STOP_TIMEOUT_MS) == null) {
          p.kill();
        }
      } catch (InterruptedException e) {
        p.kill();
        Thread.currentThread().interrupt();
      }
    }
  }

  /** SIGKILL to every peer still running (the run is over or aborted). */
  void killAll() {
    for (Peer p : snapshot()) {
      if (p.alive()) {
        p.kill();
      }
    }
  }

  private List<Peer> snapshot() {
    synchronized (started) {
      return new ArrayList<>(started);
    }
  }

  /** Appends {@code pid} to the pid file, when there is one. */
  static void recordPid(Path pidFile, long pid) throws IOException {
    if (pidFile != null) {
      synchronized (Launcher.class) {
        Files.writeString(
            pidFile, pid + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      }
    }
  }
}
