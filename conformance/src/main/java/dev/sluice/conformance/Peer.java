package dev.sluice.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** One peer process (any language) and the JSON events it printed. Thread-safe. */
final class Peer {
  /** One event line, with the runner's receive time. */
  record Event(ObjectNode fields, long nanos) {
    /** The field as text (a number as its digits); null when absent or JSON null. */
    String str(String k) {
      JsonNode v = fields.get(k);
      return v == null || v.isNull() ? null : v.asText();
    }

    /** The field as a number; -1 when absent or not a number. */
    long num(String k) {
      JsonNode v = fields.get(k);
      return v != null && v.isNumber() ? v.longValue() : -1;
    }

    String type() {
      return str("event");
    }
  }

  final String lang;
  final String role;
  final String id;
  final List<String> command;
  final Path log;
  private final Process process;
  private final List<Event> events = new ArrayList<>();
  private final List<String> junk = new ArrayList<>();
  private final Thread reader;

  Peer(String lang, String role, String id, List<String> command, Path logDir) throws IOException {
    this.lang = lang;
    this.role = role;
    this.id = id;
    this.command = List.copyOf(command);
    this.log = logDir.resolve(lang + "-" + role + "-" + id + ".log");
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    this.process = pb.start();
    this.reader = new Thread(this::read, "events-" + lang + "-" + id);
    reader.setDaemon(true);
    reader.start();
  }

  private void read() {
    try (BufferedReader r =
            new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        java.io.Writer copy =
            Files.newBufferedWriter(
                log.resolveSibling(log.getFileName().toString().replace(".log", ".events")),
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND)) {
      String line;
      while ((line = r.readLine()) != null) {
        long now = System.nanoTime();
        copy.write(System.currentTimeMillis() + " " + line + "\n");
        copy.flush();
        String t = line.trim();
        if (t.isEmpty()) {
          continue;
        }
        ObjectNode m;
        try {
          m = JsonLines.parseObject(t);
        } catch (RuntimeException e) {
          synchronized (this) {
            junk.add(t);
          }
          continue;
        }
        synchronized (this) {
          events.add(new Event(m, now));
          notifyAll();
        }
      }
    } catch (IOException e) {
      // the process went away
    }
    synchronized (this) {
      notifyAll();
    }
  }

  synchronized List<Event> events(String type) {
    List<Event> out = new ArrayList<>();
    for (Event e : events) {
      if (type.equals(e.type())) {
        out.add(e);
      }
    }
    return out;
  }

  synchronized List<String> nonJsonLines() {
    return List.copyOf(junk);
  }

  /** Waits for an event matching {@code p}; false on timeout or when the process ended first. */
  synchronized boolean await(Predicate<Event> p, long timeoutMs) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (true) {
      for (Event e : events) {
        if (p.test(e)) {
          return true;
        }
      }
      long left = deadline - System.nanoTime();
      if (left <= 0 || (!process.isAlive() && !reader.isAlive())) {
        return false;
      }
      wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
    }
  }

  boolean awaitReady(long timeoutMs) throws InterruptedException {
    return await(e -> "ready".equals(e.type()), timeoutMs);
  }

  boolean alive() {
    return process.isAlive();
  }

  long pid() {
    return process.pid();
  }

  /** SIGTERM, leaving stdout open (Process.destroy() would close it and lose the done event). */
  void terminate() {
    process.toHandle().destroy();
  }

  /** Waits for the exit code; null on timeout. Drains stdout before returning. */
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

  /** The last lines of the peer's stderr, for failure details. */
  String stderrTail(int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public String toString() {
    return lang + " " + role + " " + id;
  }
}
