package dev.sluice.conformance;

/**
 * One scenario of the suite (docs/CONFORMANCE.md): it provisions its queues, runs its peers and
 * records its checks in the harness's report. The runner stops every peer still running after it.
 */
interface Scenario {
  /** The name in the report and for {@code --only}. */
  String name();

  /** Runs the scenario; an exception fails the check "scenario completed" for every language. */
  void run(Harness h) throws Exception;
}
