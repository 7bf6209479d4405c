package dev.sluice.examples.polyglot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.DeadLetterRecord;
import dev.sluice.Sluice;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The account of one run: what the producer stored, what each worker processed, what the run added
 * to the dead-letter stream, and so what was lost. Dead-letter records already stored when the
 * account is opened belong to earlier runs and are not counted. Not thread-safe.
 */
final class Accounting {
  private final Sluice sluice;
  private final String queue;
  private final Set<Long> oldRecords = new HashSet<>();

  /** Opens the account: remembers the queue's dead-letter records stored so far. */
  Accounting(Sluice sluice, String queue) {
    this.sluice = sluice;
    this.queue = queue;
    for (DeadLetterRecord r : sluice.deadLetters().list(queue, Integer.MAX_VALUE)) {
      oldRecords.add(r.sequence());
    }
  }

  /** {sent, failed}: from the example producer's last line, or the contract producer's events. */
  static long[] sentAndFailed(Member p, int exitCode, int count) {
    if (p.spec.dialect() == MemberSpec.Dialect.CONTRACT) {
      long sent = p.sentIds().size();
      return new long[] {sent, count - sent};
    }
    ObjectNode last = p.last();
    JsonNode sent = last == null ? null : last.get("sent");
    if (sent == null || !sent.isNumber()) {
      throw new PolyglotDemo.DemoFailure(
          "the producer (exit "
              + exitCode
              + ") printed no {\"sent\": N, ...} line last: "
              + p.stderrTail(3));
    }
    return new long[] {sent.asLong(), last.path("failed").asLong(0)};
  }

  /** Processed ids of every worker plus the ids dead-lettered in this run. */
  Set<String> outcomes(List<Member> ws) {
    Set<String> ids = new HashSet<>(newDeadLetters());
    for (Member m : ws) {
      ids.addAll(m.processedIds());
    }
    return ids;
  }

  /** Original message ids of the dead-letter records added since this account was opened. */
  List<String> newDeadLetters() {
    List<String> ids = new ArrayList<>();
    for (DeadLetterRecord r : sluice.deadLetters().list(queue, Integer.MAX_VALUE)) {
      if (!oldRecords.contains(r.sequence())) {
        ids.add(r.originalMessageId().orElse("?"));
      }
    }
    return ids;
  }

  /** The summary of the run: outcomes per language, lost orders, the bound's readings. */
  PolyglotSummary summarize(
      Sampler sampler, Member p, List<Member> ws, long[] sent, double seconds, PrintStream err) {
    Map<String, Long> by = new LinkedHashMap<>();
    Map<String, Integer> seen = new LinkedHashMap<>();
    long repeated = 0;
    for (Member m : ws) {
      Set<String> ids = m.processedIds();
      by.merge(m.spec.lang(), (long) ids.size(), Long::sum);
      ids.forEach(id -> seen.merge(id, 1, Integer::sum));
      repeated += m.repeatedProcessed();
      if (!m.notJson().isEmpty()) {
        err.println("polyglot demo: " + m + " printed lines that are not JSON: " + m.notJson());
      }
    }
    for (int n : seen.values()) {
      repeated += n - 1;
    }
    List<String> dead = newDeadLetters();
    long lost;
    if (p.spec.dialect() == MemberSpec.Dialect.CONTRACT) {
      Set<String> missing = new HashSet<>(p.sentIds());
      missing.removeAll(seen.keySet());
      dead.forEach(missing::remove);
      lost = missing.size();
    } else {
      // The example producer prints counts, not ids: an order is lost when fewer distinct ids
      // reached an outcome than were sent.
      Set<String> outcome = new HashSet<>(seen.keySet());
      outcome.addAll(dead);
      lost = Math.max(0, sent[0] - outcome.size());
    }
    JsonNode wait = p.last() == null ? null : p.last().get("max_credit_wait_ms");
    return new PolyglotSummary(
        sent[0],
        sent[1],
        seen.size(),
        by,
        lost,
        dead.size(),
        repeated,
        sampler.maxBacklog(),
        sampler.maxWindow(),
        sampler.maxSlack(),
        wait != null && wait.isNumber() ? wait.asLong() : -1,
        seconds);
  }
}
