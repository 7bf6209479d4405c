package dev.sluice.examples.polyglot;

import dev.sluice.examples.OrdersProducer;
import dev.sluice.examples.OrdersWorker;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One program the demo runs, as given on its command line: {@code LANG:DIALECT:COMMAND}, e.g.
 * {@code rust:example:peers/rust/target/release/examples/orders-worker} or {@code
 * go:contract:peers/go/bin/sluice-peer-go}. The command is split on whitespace; {@code self} stands
 * for this JVM running the example's Java worker or producer on the demo's own class path.
 *
 * @param lang the language it is written in, for {@code processed_by}
 * @param dialect which command line and output it speaks
 * @param command the program and its fixed arguments
 */
record MemberSpec(String lang, Dialect dialect, List<String> command) {

  /** The two command-line contracts the demo can drive. */
  enum Dialect {
    /**
     * The orders example's contract (examples/README.md): {@code --server --queue --worker-id
     * --concurrency --service-ms} for workers printing {@code processed} with the message id in
     * {@code id} and {@code stopped} at the end; {@code --server --queue --count [--rate] --json}
     * for producers printing {@code {"sent","failed","max_credit_wait_ms"}} last.
     */
    EXAMPLE,
    /**
     * The conformance peers' contract (peers/README.md): {@code worker ...} and {@code produce ...}
     * subcommands, {@code processed}/{@code dead_lettered} events with {@code msg_id}, {@code sent}
     * per message and {@code done} at the end. Peers send and handle {@code
     * sluice.conformance.Work}, so they stand in for the example's programs only among themselves.
     */
    CONTRACT
  }

  MemberSpec {
    command = List.copyOf(command);
    if (command.isEmpty()) {
      throw new IllegalArgumentException("an empty command for " + lang);
    }
  }

  /**
   * Parses {@code LANG:DIALECT:COMMAND}.
   *
   * @param role "worker" or "producer": what {@code self} runs
   * @throws IllegalArgumentException with what a valid value looks like
   */
  static MemberSpec parse(String value, String role) {
    String[] parts = value.split(":", 3);
    if (parts.length != 3 || parts[0].isBlank() || parts[2].isBlank()) {
      throw new IllegalArgumentException(
          "--"
              + role
              + " "
              + value
              + ": expected LANG:DIALECT:COMMAND, e.g. rust:example:path/to/orders-worker or"
              + " java:example:self");
    }
    Dialect d;
    try {
      d = Dialect.valueOf(parts[1].toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "--" + role + " " + value + ": the dialect must be example or contract");
    }
    List<String> cmd;
    if (parts[2].trim().equals("self")) {
      if (d != Dialect.EXAMPLE) {
        throw new IllegalArgumentException(
            "--" + role + " " + value + ": self runs the example's Java program (dialect example)");
      }
      cmd = self(role.equals("producer") ? OrdersProducer.class : OrdersWorker.class);
    } else {
      cmd = Arrays.asList(parts[2].trim().split("\\s+"));
    }
    return new MemberSpec(parts[0], d, cmd);
  }

  /** This JVM running {@code main} on the demo's class path. */
  static List<String> self(Class<?> main) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx256m", "-Xss512k"));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(main.getName());
    return cmd;
  }
}
