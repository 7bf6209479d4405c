package dev.sluice.cli.console;

import com.sun.net.httpserver.HttpExchange;
import java.util.Locale;
import java.util.Set;

/**
 * The console's request checks. Every request: when the console listens on a loopback address, the
 * {@code Host} header must name a loopback host (a page of another site that resolves its own name
 * to 127.0.0.1, "DNS rebinding", cannot read the API). Every write: the console must have been
 * started with {@code --allow-writes}; the request must carry the header {@value #HEADER} (a page
 * of another origin cannot send a custom header without a CORS preflight, which the console never
 * grants), a JSON body, and an {@code Origin}, when the browser sends one, equal to the console's
 * own.
 */
final class Guard {
  /** The header every write request must carry, with the value {@code 1}. */
  static final String HEADER = "X-Sluice-Console";

  private static final Set<String> LOOPBACK_NAMES = Set.of("localhost", "127.0.0.1", "[::1]");

  private final boolean allowWrites;
  private final boolean loopback;

  Guard(boolean allowWrites, boolean loopback) {
    this.allowWrites = allowWrites;
    this.loopback = loopback;
  }

  boolean allowWrites() {
    return allowWrites;
  }

  void checkHost(HttpExchange ex) {
    if (!loopback) {
      return;
    }
    String host = hostName(ex.getRequestHeaders().getFirst("Host"));
    if (host == null
        || !(LOOPBACK_NAMES.contains(host)
            || host.startsWith("127.")
            || host.endsWith(".localhost"))) {
      throw new ApiException(
          403,
          2,
          "this console answers only to localhost, 127.0.0.1 or [::1] (it listens on a loopback"
              + " address); open it by one of those names, or start it with --bind");
    }
  }

  void checkWrite(HttpExchange ex) {
    if (!allowWrites) {
      throw new ApiException(
          403,
          2,
          "the console is read-only: restart 'sluice ui' with --allow-writes to replay or purge"
              + " dead letters");
    }
    if (!"1".equals(ex.getRequestHeaders().getFirst(HEADER))) {
      throw new ApiException(
          403,
          2,
          "a write needs the header '"
              + HEADER
              + ": 1' (cross-site request protection); the console's pages send it");
    }
    String origin = ex.getRequestHeaders().getFirst("Origin");
    String host = ex.getRequestHeaders().getFirst("Host");
    if (origin != null && !origin.equalsIgnoreCase("http://" + host)) {
      throw new ApiException(
          403, 2, "cross-origin write refused: Origin " + origin + " is not this console");
    }
    String type = ex.getRequestHeaders().getFirst("Content-Type");
    if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
      throw new ApiException(415, 2, "a write needs a JSON body (Content-Type: application/json)");
    }
  }

  /** The host part of a Host header, lower case, without the port; null when absent. */
  static String hostName(String hostHeader) {
    if (hostHeader == null || hostHeader.isBlank()) {
      return null;
    }
    String h = hostHeader.trim().toLowerCase(Locale.ROOT);
    if (h.startsWith("[")) {
      int end = h.indexOf(']');
      return end < 0 ? h : h.substring(0, end + 1);
    }
    int colon = h.indexOf(':');
    return colon < 0 ? h : h.substring(0, colon);
  }
}
