package dev.sluice.faults;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The suite's report: one {@link ScenarioResult} per scenario run, printed as a table or, with
 * {@code --json}, as one line {@code {"scenarios": [...], "passed": N, "failed": M}}. Not
 * thread-safe: the runner adds results from its one thread.
 */
final class SuiteReport {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final List<ScenarioResult> results = new ArrayList<>();

  /** Adds a scenario's result, in running order. */
  void add(ScenarioResult r) {
    results.add(r);
  }

  /** The results so far. */
  List<ScenarioResult> results() {
    return List.copyOf(results);
  }

  /** Scenarios that passed. */
  long passed() {
    return results.stream().filter(ScenarioResult::passed).count();
  }

  /** Scenarios that failed. */
  long failed() {
    return results.size() - passed();
  }

  /** 0 when every scenario passed (and at least one ran), 1 otherwise. */
  int exitCode() {
    return !results.isEmpty() && failed() == 0 ? 0 : 1;
  }

  /** The summary as one JSON line: the scenarios in order, then the counts. */
  String json() {
    Map<String, Object> top = new LinkedHashMap<>();
    top.put("scenarios", results);
    top.put("passed", passed());
    top.put("failed", failed());
    try {
      return JSON.writeValueAsString(top);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the report as JSON", e);
    }
  }

  /** Prints the JSON line, or a table with each failure's reason. */
  void print(boolean json, PrintStream out) {
    if (json) {
      out.println(json());
      return;
    }
    out.printf(
        "%-22s %6s %9s %6s %5s %5s %9s %9s  %s%n",
        "scenario", "acked", "processed", "dlq", "lost", "dup", "converged", "recovery", "result");
    for (ScenarioResult r : results) {
      out.printf(
          "%-22s %6d %9d %6d %5d %5d %9s %8.1fs  %s%n",
          r.name(),
          r.acked(),
          r.processed(),
          r.deadLettered(),
          r.lost(),
          r.duplicateEffects(),
          r.creditsConverged() ? "yes" : "NO",
          r.recoverySeconds(),
          r.passed() ? "passed" : "FAILED: " + r.detail());
    }
    out.printf("%d passed, %d failed%n", passed(), failed());
  }
}
