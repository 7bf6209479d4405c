package dev.sluice.examples.polyglot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One process the demo started (a producer or a worker of any language) and what it printed: the
 * ids it processed or sent, the ids it dead-lettered, its last JSON line. Its stdout is read on a
 * daemon thread; its stderr goes to a log file. Thread-safe.
 */
final class Member {
  private static final ObjectMapper JSON = new ObjectMapper();

  final MemberSpec spec;
  final String id;
  final Path log;
  private final Process process;
  private final Thread reader;
  private final Map<String, Integer> processed = new HashMap<>();
  private final List<String> sent = new ArrayList<>();
  private final List<String> deadLettered = new ArrayList<>();
  private final List<String> notJson = new ArrayList<>();
  private ObjectNode last;
  private boolean stopped;

  Member(MemberSpec spec, String id, List<String> args, Path logDir) throws IOException {
    this.spec = spec;
    this.id = id;
    this.log = logDir.resolve(id + ".log");
    List<String> cmd = new ArrayList<>(spec.command());
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    try {
      this.process = pb.start();
    } catch (IOException e) {
      throw new PolyglotDemo.DemoFailure(
          "cannot start " + spec.lang() + " " + id + " (" + cmd.get(0) + "): " + e.getMessage());
    }
    this.reader = new Thread(this::read, "stdout-" + id);
    reader.setDaemon(true);
    reader.start();
  }

  private void read() {
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        String t = line.trim();
        if (t.isEmpty()) {
          continue;
        }
        JsonNode n;
        try {
          n = JSON.readTree(t);
        } catch (IOException e) {
          n = null;
        }
        synchronized (this) {
          if (n instanceof ObjectNode o) {
            take(o);
          } else {
            notJson.add(t);
          }
        }
      }
    } catch (IOException e) {
      // the process went away
    }
  }

  /** One JSON line, in either dialect. Called with the lock held. */
  private void take(ObjectNode o) {
    last = o;
    String event = text(o, "event");
    if (event == null) {
      return; // the example producer's summary: read from last()
    }
    boolean contract = spec.dialect() == MemberSpec.Dialect.CONTRACT;
    switch (event) {
      case "processed" -> processed.merge(text(o, contract ? "msg_id" : "id"), 1, Integer::sum);
      case "dead_lettered" -> deadLettered.add(text(o, contract ? "msg_id" : "id"));
      case "sent" -> sent.add(text(o, "msg_id"));
      case "stopped", "done" -> stopped = true;
      default -> {
        // ready, nak, health, ...: not counted
      }
    }
  }

  private static String text(JsonNode o, String field) {
    JsonNode v = o.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  /** Ids this worker processed (each once however often it printed it). */
  synchronized Set<String> processedIds() {
    return Set.copyOf(processed.keySet());
  }

  /** Processed events beyond the first for the same id. */
  synchronized long repeatedProcessed() {
    return processed.values().stream().mapToLong(c -> c - 1).sum();
  }

  /** Ids of the contract producer's {@code sent} events (the example producer prints none). */
  synchronized List<String> sentIds() {
    return List.copyOf(sent);
  }

  synchronized List<String> deadLetteredIds() {
    return List.copyOf(deadLettered);
  }

  /** The last JSON object printed, or null. */
  synchronized ObjectNode last() {
    return last;
  }

  /** Whether it printed its end event ({@code stopped} or {@code done}). */
  synchronized boolean printedStop() {
    return stopped;
  }

  synchronized List<String> notJson() {
    return List.copyOf(notJson);
  }

  boolean alive() {
    return process.isAlive();
  }

  /** SIGTERM, keeping stdout open so the end event is still read. */
  void terminate() {
    process.toHandle().destroy();
  }

  /** Waits for the exit; null on timeout. Reads stdout to its end before returning. */
  Integer awaitExit(long timeoutMs) throws InterruptedException {
    if (!process.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
      return null;
    }
    reader.join(2000);
    return process.exitValue();
  }

  void kill() {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }

  /** The last lines of its stderr, for error messages. */
  String stderrTail(int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public String toString() {
    return spec.lang() + " " + id;
  }
}
