package dev.sluice.faults;

import java.io.PrintStream;

/**
 * The live progress line on stderr: rewritten in place ({@code \r}) on a terminal, one line per
 * update otherwise (so a log file stays readable). Thread-safe.
 */
final class Progress {
  private final PrintStream err;
  private final boolean terminal;
  private final long startNanos = System.nanoTime();
  private String scenario = "";

  Progress(PrintStream err, boolean terminal) {
    this.err = err;
    this.terminal = terminal;
  }

  /** Starts the line of scenario {@code i} of {@code n}. */
  synchronized void scenario(String name, int i, int n) {
    scenario = String.format("[%d/%d] %s", i, n, name);
    update("starting");
  }

  /** Replaces the current scenario's status. */
  synchronized void update(String status) {
    String line = String.format("faults %5.0fs %s: %s", elapsed(), scenario, status);
    if (terminal) {
      err.print("\r\033[K" + line);
    } else {
      err.println(line);
    }
    err.flush();
  }

  /** Ends the current line with the scenario's outcome. */
  synchronized void done(ScenarioResult r) {
    String line =
        String.format(
            "faults %5.0fs %s: %s (acked %d, lost %d, dup %d, recovery %.1f s)",
            elapsed(),
            scenario,
            r.passed() ? "passed" : "FAILED",
            r.acked(),
            r.lost(),
            r.duplicateEffects(),
            r.recoverySeconds());
    err.println((terminal ? "\r\033[K" : "") + line);
    err.flush();
  }

  private double elapsed() {
    return (System.nanoTime() - startNanos) / 1e9;
  }
}
