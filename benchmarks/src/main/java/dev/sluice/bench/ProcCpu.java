package dev.sluice.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time a process has used so far, read from {@code /proc/<pid>/stat} (Linux): {@code utime +
 * stime}, fields 14 and 15, in clock ticks. CPU time per message swings far less than msg/s on a
 * shared machine, which is why every benchmark reports it.
 */
final class ProcCpu {
  /**
   * USER_HZ: 100 on every Linux architecture the JVM runs on (what {@code getconf CLK_TCK} says).
   */
  static final long TICKS_PER_SECOND = 100;

  private ProcCpu() {}

  /**
   * utime + stime in ticks from the text of a {@code stat} file. The command name (field 2) is in
   * parentheses and may itself hold spaces and ')', so fields are counted after the last ')'.
   *
   * @throws IllegalArgumentException when the text is not a stat line
   */
  static long ticks(String stat) {
    int close = stat.lastIndexOf(')');
    if (close < 0) {
      throw new IllegalArgumentException("not a /proc stat line: no ')' after the command name");
    }
    String[] f = stat.substring(close + 1).trim().split("\\s+");
    // After the name: f[0] is field 3 (state), so field n is f[n - 3].
    if (f.length < 13) {
      throw new IllegalArgumentException(
          "not a /proc stat line: " + f.length + " fields after ')'");
    }
    try {
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a /proc stat line: utime/stime " + e.getMessage(), e);
    }
  }

  /**
   * CPU microseconds used so far by {@code pid}, or -1 when it cannot be read (not Linux, gone).
   */
  static long micros(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      return ticks(stat) * (1_000_000 / TICKS_PER_SECOND);
    } catch (IOException | IllegalArgumentException e) {
      return -1;
    }
  }

  /** This JVM's pid. */
  static long self() {
    return ProcessHandle.current().pid();
  }
}
