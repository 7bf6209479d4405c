package dev.sluice.faults;

import dev.sluice.testkit.ServerBinary;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The version of the nats-server binary the suite runs, from {@code nats-server --version}. */
final class ServerVersion {
  private static final Pattern VERSION = Pattern.compile("v?(\\d+)\\.(\\d+)\\.(\\d+)");

  private ServerVersion() {}

  /** Whether the binary is at least {@code major.minor}; true when its version cannot be read. */
  static boolean atLeast(int major, int minor) {
    String binary = ServerBinary.resolve().toString();
    try {
      Process p = new ProcessBuilder(binary, "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor();
      Matcher m = VERSION.matcher(out);
      if (!m.find()) {
        return true;
      }
      int maj = Integer.parseInt(m.group(1));
      int min = Integer.parseInt(m.group(2));
      return maj > major || (maj == major && min >= minor);
    } catch (Exception e) {
      return true;
    }
  }
}
