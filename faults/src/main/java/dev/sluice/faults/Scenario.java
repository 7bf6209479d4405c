package dev.sluice.faults;

/**
 * One fault and what it proves. A scenario starts what it needs through its {@link Lab} (which
 * stops it all afterwards), injects the fault under load, waits for recovery within its own bound
 * and returns its {@link ScenarioResult}; it throws only when it could not run at all.
 */
interface Scenario {
  /** The name used by {@code --only} and in the report. */
  String name();

  /** What the scenario proves when it passes, one sentence (for {@code --list} and the docs). */
  String proves();

  /** Whether it belongs to the quick subset ({@code --quick}). */
  default boolean quick() {
    return false;
  }

  /** Runs the scenario. */
  ScenarioResult run(Lab lab) throws Exception;
}
