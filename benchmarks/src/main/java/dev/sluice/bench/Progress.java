package dev.sluice.bench;

import java.util.Locale;

/** The live progress line on stderr: refreshed in place on a terminal, else one line every 5 s. */
final class Progress {
  private final String mode;
  private long lastLine;
  private int width;

  Progress(String mode) {
    this.mode = mode;
  }

  void update(String pipeline, String phase, double elapsed, double rate, long backlog) {
    if (mode.equals("none")) {
      return;
    }
    String line =
        String.format(
            Locale.ROOT,
            "bench: %-6s %-8s %5.1fs  %8.0f msg/s  backlog %d",
            pipeline,
            phase,
            elapsed,
            rate,
            backlog);
    if (mode.equals("tty")) {
      String pad = " ".repeat(Math.max(0, width - line.length()));
      width = line.length();
      System.err.print("\r" + line + pad);
      System.err.flush();
    } else {
      long now = System.nanoTime();
      if (now - lastLine >= 5_000_000_000L) {
        lastLine = now;
        System.err.println(line);
      }
    }
  }

  /** Ends the refreshed line so other output starts on a clean one. */
  void done() {
    if (mode.equals("tty") && width > 0) {
      System.err.print("\r" + " ".repeat(width) + "\r");
      System.err.flush();
      width = 0;
    }
    lastLine = 0;
  }

  void say(String message) {
    done();
    if (!mode.equals("none")) {
      System.err.println("bench: " + message);
    }
  }
}
