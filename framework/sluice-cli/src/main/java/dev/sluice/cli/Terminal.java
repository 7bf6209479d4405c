package dev.sluice.cli;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * What the CLI knows about the terminal it prints to: whether stdout is one, its width and whether
 * to use colour ({@code --no-color} and the {@code NO_COLOR} convention turn it off).
 */
final class Terminal {
  static final Terminal NONE = new Terminal(false, 0, false);

  private final boolean interactive;
  private final int width;
  private final boolean colour;

  Terminal(boolean interactive, int width, boolean colour) {
    this.interactive = interactive;
    this.width = width;
    this.colour = colour;
  }

  /** The terminal of this process: only when stdout is a terminal is anything enabled. */
  static Terminal detect(boolean noColour) {
    if (System.console() == null) {
      return NONE;
    }
    String noColorEnv = System.getenv("NO_COLOR");
    boolean colour = !noColour && (noColorEnv == null || noColorEnv.isEmpty());
    return new Terminal(true, detectWidth(), colour);
  }

  boolean interactive() {
    return interactive;
  }

  /** Columns, or 0 when unknown (then lines are not cut). */
  int width() {
    return width;
  }

  boolean colour() {
    return colour;
  }

  /** The ANSI colour of a health word: red when unhealthy, yellow when degraded, green when ok. */
  static String healthColour(String health) {
    return switch (health) {
      case "healthy" -> "\033[32m";
      case "degraded" -> "\033[33m";
      case "stuck", "no-workers" -> "\033[31m";
      default -> null;
    };
  }

  /**
   * The width from {@code stty size} on the controlling terminal, else {@code $COLUMNS}, else 0.
   */
  private static int detectWidth() {
    try {
      Process p =
          new ProcessBuilder("stty", "size")
              .redirectInput(new File("/dev/tty"))
              .redirectError(ProcessBuilder.Redirect.DISCARD)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      if (p.waitFor(2, TimeUnit.SECONDS) && p.exitValue() == 0) {
        String[] rowsCols = out.trim().split("\\s+");
        if (rowsCols.length == 2) {
          return Integer.parseInt(rowsCols[1]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // no stty or no terminal: fall back to $COLUMNS
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      String cols = System.getenv("COLUMNS");
      return cols == null ? 0 : Integer.parseInt(cols.trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
