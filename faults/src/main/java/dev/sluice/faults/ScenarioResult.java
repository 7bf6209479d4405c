package dev.sluice.faults;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * What one scenario reports: the counts from its {@link Ledger}, whether the credits converged
 * (circulating credits equal the window, read through {@code Sluice.inspect}) and how long the
 * queue took to recover after the fault ended. {@code passed} is true only when nothing was lost,
 * no effect was duplicated, the credits converged and the scenario's own checks held; {@code
 * detail} says why not (or what was checked). Immutable.
 *
 * @param recoverySeconds seconds from the end of the fault until every acknowledged send was
 *     settled and the credits converged; -1 when that never happened within the scenario's bound
 */
@JsonPropertyOrder({
  "name",
  "acked",
  "processed",
  "dead_lettered",
  "lost",
  "duplicate_effects",
  "credits_converged",
  "recovery_s",
  "passed",
  "detail"
})
record ScenarioResult(
    @JsonProperty("name") String name,
    @JsonProperty("acked") long acked,
    @JsonProperty("processed") long processed,
    @JsonProperty("dead_lettered") long deadLettered,
    @JsonProperty("lost") long lost,
    @JsonProperty("duplicate_effects") long duplicateEffects,
    @JsonProperty("credits_converged") boolean creditsConverged,
    @JsonProperty("recovery_s") double recoverySeconds,
    @JsonProperty("passed") boolean passed,
    @JsonProperty("detail") String detail) {

  /**
   * The result of a scenario that ran to its end: passed when nothing was lost or duplicated, the
   * credits converged and {@code failedCheck} is null.
   *
   * @param failedCheck what the scenario's own check found wrong, or null when it held
   * @param note what was observed, reported in {@code detail} when the scenario passed
   */
  static ScenarioResult of(
      String name,
      Ledger ledger,
      boolean converged,
      double recoverySeconds,
      String failedCheck,
      String note) {
    long lost = ledger.lost().size();
    long dup = ledger.duplicateEffects();
    StringBuilder why = new StringBuilder();
    if (lost > 0) {
      why.append(lost)
          .append(" acknowledged sends neither processed nor dead-lettered (first: ")
          .append(ledger.lost().iterator().next())
          .append("); ");
    }
    if (dup > 0) {
      why.append(dup)
          .append(" duplicate effects (first: ")
          .append(ledger.duplicated().iterator().next())
          .append("); ");
    }
    if (!converged) {
      why.append("credits did not converge to the window; ");
    }
    if (failedCheck != null) {
      why.append(failedCheck).append("; ");
    }
    boolean passed = why.length() == 0;
    String detail = passed ? note : why.substring(0, why.length() - 2);
    return new ScenarioResult(
        name,
        ledger.ackedCount(),
        ledger.processedCount(),
        ledger.deadLetteredCount(),
        lost,
        dup,
        converged,
        recoverySeconds < 0 ? -1 : Math.round(recoverySeconds * 10) / 10.0,
        passed,
        detail);
  }

  /** The result of a scenario that could not run to its end (setup failed, it threw). */
  static ScenarioResult aborted(String name, Ledger ledger, String reason) {
    return new ScenarioResult(
        name,
        ledger.ackedCount(),
        ledger.processedCount(),
        ledger.deadLetteredCount(),
        ledger.lost().size(),
        ledger.duplicateEffects(),
        false,
        -1,
        false,
        "aborted: " + reason);
  }
}
