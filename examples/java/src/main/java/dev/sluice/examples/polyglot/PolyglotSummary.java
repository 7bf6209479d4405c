package dev.sluice.examples.polyglot;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What one polyglot demo run did: every order the producer stored is processed by some worker,
 * dead-lettered, or lost.
 *
 * @param sent orders the producer stored (PubAck received)
 * @param sendFailed orders the producer gave up on
 * @param processed distinct order ids some worker printed as processed
 * @param processedBy distinct processed ids per worker language; always has go, rust and java
 * @param lost sent ids neither processed nor dead-lettered
 * @param deadLettered dead-letter records this run added for the queue
 * @param duplicates processed events beyond the first for an id (0 expected: every worker runs with
 *     the library's idempotency)
 * @param maxBacklog the largest backlog B sampled (every 100 ms)
 * @param window the fleet's window W (the largest read)
 * @param slack the largest slack of PROTOCOL.md §5.6 read
 * @param maxCreditWaitMs the producer's longest wait for a credit (example producers report it; -1
 *     when unknown)
 * @param seconds from the producer's start to the last outcome
 */
record PolyglotSummary(
    long sent,
    long sendFailed,
    long processed,
    Map<String, Long> processedBy,
    long lost,
    long deadLettered,
    long duplicates,
    long maxBacklog,
    long window,
    long slack,
    long maxCreditWaitMs,
    double seconds) {

  private static final ObjectMapper JSON = new ObjectMapper();

  PolyglotSummary {
    Map<String, Long> by = new LinkedHashMap<>();
    for (String lang : new String[] {"go", "rust", "java"}) {
      by.put(lang, processedBy.getOrDefault(lang, 0L));
    }
    processedBy.forEach(by::putIfAbsent);
    processedBy = java.util.Collections.unmodifiableMap(by);
  }

  /** B ≤ W + slack at every sample. */
  boolean backlogBounded() {
    return maxBacklog <= window + slack;
  }

  /** The one-line JSON of {@code scripts/demo --polyglot --json}. */
  String toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("sent", sent);
    m.put("processed", processed);
    m.put("processed_by", processedBy);
    m.put("lost", lost);
    m.put("dead_lettered", deadLettered);
    m.put("max_backlog", maxBacklog);
    m.put("window", window);
    m.put("slack", slack);
    m.put("duplicates", duplicates);
    m.put("send_failed", sendFailed);
    m.put("max_credit_wait_ms", maxCreditWaitMs);
    m.put("seconds", Math.round(seconds * 10) / 10.0);
    try {
      return JSON.writeValueAsString(m);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The readable summary. */
  void print(PrintStream out) {
    StringBuilder by = new StringBuilder();
    processedBy.forEach(
        (l, n) -> by.append(by.isEmpty() ? "" : ", ").append(l).append(' ').append(n));
    out.printf(Locale.ROOT, "%nPolyglot demo: %d orders sent in %.1f s%n", sent, seconds);
    out.printf(Locale.ROOT, "  processed       %d (%s)%n", processed, by);
    out.printf(Locale.ROOT, "  dead-lettered   %d%n", deadLettered);
    out.printf(
        Locale.ROOT,
        "  lost            %d%s%n",
        lost,
        lost == 0
            ? "  (every order accounted for)"
            : "  (sent, never processed nor dead-lettered)");
    out.printf(Locale.ROOT, "  processed twice %d%n", duplicates);
    if (sendFailed > 0) {
      out.printf(Locale.ROOT, "  send failures   %d%n", sendFailed);
    }
    out.printf(
        Locale.ROOT,
        "  back-pressure   max backlog %d <= window %d + slack %d: %s%n",
        maxBacklog,
        window,
        slack,
        backlogBounded() ? "held" : "BROKEN");
    if (maxCreditWaitMs >= 0) {
      out.printf(
          Locale.ROOT,
          "                  the producer waited up to %d ms for a credit%n",
          maxCreditWaitMs);
    }
  }
}
