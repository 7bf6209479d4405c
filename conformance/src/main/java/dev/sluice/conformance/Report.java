package dev.sluice.conformance;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Every check of a run and the two ways to print them: the readable report, or {@code --json} lines
 * ending with the per-language summary that {@code scripts/conformance} and docs/CONFORMANCE.md
 * promise as the last stdout line. Thread-safe (scenarios check from several threads).
 */
final class Report {
  /** The languages every run reports on, in summary order. */
  static final List<String> LANGS = List.of("java", "go", "rust");

  /** One check: passed or failed for each language in {@code langs}. */
  record Check(String scenario, String name, Set<String> langs, boolean ok, String detail) {}

  private final List<Check> checks = Collections.synchronizedList(new ArrayList<>());
  private final List<String> scenarioTimes = Collections.synchronizedList(new ArrayList<>());

  /** Records a check; a failure is also printed to stderr at once, for whoever watches the run. */
  void check(String scenario, String name, Collection<String> langs, boolean ok, String detail) {
    Check c = new Check(scenario, name, new TreeSet<>(langs), ok, detail == null ? "" : detail);
    checks.add(c);
    if (!ok) {
      progress(
          "FAIL [" + String.join(",", c.langs()) + "] " + scenario + ": " + name + ": " + detail);
    }
  }

  void scenarioTime(String scenario, long nanos) {
    scenarioTimes.add(String.format("%s %.1f s", scenario, nanos / 1e9));
  }

  /** A progress line on stderr (stdout is the report). */
  static void progress(String s) {
    System.err.println("conformance: " + s);
  }

  /** The first five problems of a list, with its size: a check's detail. */
  static String summarize(List<String> bad) {
    if (bad.isEmpty()) {
      return "";
    }
    return bad.size() + ": " + String.join("; ", bad.subList(0, Math.min(5, bad.size())));
  }

  /**
   * Prints the report and returns the exit status: 0 when every check passed, 1 otherwise. The
   * summary line goes last to {@code out} with {@code json}, to {@code err} without (so the
   * readable report stays readable and a script can still find the counts).
   */
  int print(boolean json, Path logs, PrintStream out, PrintStream err) {
    List<Check> all;
    synchronized (checks) {
      all = new ArrayList<>(checks);
    }
    Map<String, int[]> per = new LinkedHashMap<>();
    for (String l : LANGS) {
      per.put(l, new int[2]);
    }
    for (Check c : all) {
      for (String l : c.langs()) {
        per.computeIfAbsent(l, k -> new int[2])[c.ok() ? 0 : 1]++;
      }
    }
    boolean failed = all.stream().anyMatch(c -> !c.ok());
    if (json) {
      for (Check c : all) {
        ObjectNode line = JsonLines.object().put("scenario", c.scenario()).put("check", c.name());
        c.langs().forEach(line.putArray("peers")::add);
        line.put("passed", c.ok()).put("detail", c.detail());
        out.println(JsonLines.write(line));
      }
    } else {
      printReadable(all, per, failed, logs, out);
    }
    ObjectNode summary = JsonLines.object();
    ObjectNode peers = summary.putObject("peers");
    per.forEach((l, n) -> peers.putObject(l).put("passed", n[0]).put("failed", n[1]));
    (json ? out : err).println(JsonLines.write(summary));
    out.flush();
    return failed ? 1 : 0;
  }

  private void printReadable(
      List<Check> all, Map<String, int[]> per, boolean failed, Path logs, PrintStream out) {
    String scenario = null;
    for (Check c : all) {
      if (!c.scenario().equals(scenario)) {
        scenario = c.scenario();
        out.println();
        out.println("== " + scenario);
      }
      out.printf(
          "  %s [%s] %s%s%n",
          c.ok() ? "PASS" : "FAIL",
          String.join(",", c.langs()),
          c.name(),
          c.ok() || c.detail().isEmpty() ? "" : "\n         " + c.detail());
    }
    out.println();
    synchronized (scenarioTimes) {
      out.println("scenario times: " + String.join(", ", scenarioTimes));
    }
    out.println("peer logs: " + logs);
    out.println();
    for (var e : per.entrySet()) {
      out.printf("%-5s passed %3d  failed %3d%n", e.getKey(), e.getValue()[0], e.getValue()[1]);
    }
    out.println(failed ? "CONFORMANCE FAILED" : "CONFORMANCE PASSED");
  }
}
