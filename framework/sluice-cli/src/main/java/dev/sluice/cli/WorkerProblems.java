package dev.sluice.cli;

import dev.sluice.WorkerAdvert;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The {@code worker-failing} finding of {@code explain}: the live workers whose advert carries a
 * problem (PROTOCOL.md §5.2), each named with its problem, and what to do for each problem code.
 */
final class WorkerProblems {
  private WorkerProblems() {}

  /** The finding for {@code st}, or null when no live worker reports itself failing. */
  static ExplainCommand.Finding finding(QueueState st) {
    List<WorkerAdvert> failing = st.failingWorkers();
    if (failing.isEmpty()) {
      return null;
    }
    List<String> named = new ArrayList<>();
    Set<String> codes = new LinkedHashSet<>();
    for (WorkerAdvert a : failing) {
      named.add(
          a.workerId()
              + " ("
              + a.language()
              + "): "
              + String.join(" / ", a.problem().lines().toList()));
      codes.addAll(a.problemCodes());
    }
    List<String> actions = new ArrayList<>();
    for (String code : codes) {
      actions.add(action(code, st.queue));
    }
    actions.add("read the failing worker's log for the full error");
    return new ExplainCommand.Finding(
        "worker-failing",
        failing.size()
            + " live worker"
            + (failing.size() == 1 ? " reports itself" : "s report themselves")
            + " failing: "
            + String.join("; ", named),
        String.join("; ", actions));
  }

  /** What to do about a problem code; an unknown code (a newer peer) gets the generic advice. */
  static String action(String code, String q) {
    return switch (code) {
      case "dlq-unwritable" ->
          "dead letters cannot be written: make sure stream SLUICE_DLQ exists ('sluice apply')"
              + " and that the worker may publish to sluice.dlq."
              + q
              + " ('sluice permissions --role worker --queue "
              + q
              + "')";
      case "idempotency-store" ->
          "the idempotency store fails: check the sluice-processed bucket's stream (its leader and"
              + " replicas) and the worker's connection";
      case "pull-denied" ->
          "the server refuses the worker's pulls: allow it to publish"
              + " $JS.API.CONSUMER.MSG.NEXT.SLUICE_Q_"
              + q
              + ".workers ('sluice permissions --role worker --queue "
              + q
              + "')";
      case "not-consuming" ->
          "the worker cannot consume: re-provision the queue ('sluice apply') if its stream or"
              + " consumer is missing";
      default -> "problem '" + code + "': see the worker's documentation";
    };
  }
}
