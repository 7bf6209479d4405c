package dev.sluice.samples;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** What a run did. {@link #toJson()} is the line {@code --json} prints last. */
public record DemoSummary(
    long produced,
    long processed,
    long retried,
    long deadLettered,
    long duplicatesProcessed,
    long lost,
    long maxBacklog,
    long window,
    long slack,
    double e2eP50Ms,
    double e2eP99Ms,
    long sendFailures,
    long upcastV1,
    long duplicatesAcked,
    long creditsAtEnd,
    double elapsedSeconds,
    double throughput) {

  private static final ObjectMapper JSON = new ObjectMapper();

  public String toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("produced", produced);
    m.put("processed", processed);
    m.put("retried", retried);
    m.put("dead_lettered", deadLettered);
    m.put("duplicates_processed", duplicatesProcessed);
    m.put("lost", lost);
    m.put("max_backlog", maxBacklog);
    m.put("window", window);
    m.put("slack", slack);
    m.put("e2e_p50_ms", tenths(e2eP50Ms));
    m.put("e2e_p99_ms", tenths(e2eP99Ms));
    m.put("send_failures", sendFailures);
    m.put("upcast_v1", upcastV1);
    m.put("duplicates_acked", duplicatesAcked);
    m.put("credits_at_end", creditsAtEnd);
    m.put("elapsed_s", tenths(elapsedSeconds));
    m.put("throughput_per_s", Math.round(throughput));
    try {
      return JSON.writeValueAsString(m);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a map of numbers always serializes", e);
    }
  }

  private static double tenths(double v) {
    return Math.round(v * 10) / 10.0;
  }

  /** True when the backlog stayed within the protocol's bound (PROTOCOL.md §5.6). */
  public boolean backlogBounded() {
    return maxBacklog <= window + slack;
  }

  /** Prints the summary as the demo's last lines of text. */
  void print(PrintStream out) {
    out.printf(
        Locale.ROOT,
        "produced %d, processed %d, dead-lettered %d, lost %d, processed twice %d%n"
            + "retried %d attempts; %d v1 orders upcast to v2; %d send failures%n"
            + "backlog max %d <= window %d + slack %d: %s%n"
            + "end-to-end latency p50 %.1f ms, p99 %.1f ms; %.0f orders/s over %.1f s%n",
        produced(),
        processed(),
        deadLettered(),
        lost(),
        duplicatesProcessed(),
        retried(),
        upcastV1(),
        sendFailures(),
        maxBacklog(),
        window(),
        slack(),
        backlogBounded() ? "ok" : "VIOLATED",
        e2eP50Ms(),
        e2eP99Ms(),
        throughput(),
        elapsedSeconds());
  }
}
