package dev.sluice.internal.wire;

import dev.sluice.DeadLetterReason;
import io.nats.client.impl.Headers;

/**
 * Worker-side header validation, in the order of protocol §3. The rules are checked by hand, one
 * pass over each value with no regular expression and no allocation: this runs for every message.
 * Thread-safe: stateless.
 */
public final class HeaderCheck {
  private static final int MAX_MSG_ID = 128;
  private static final int MAX_TYPE = 256;
  private static final int MAX_FAIRNESS_KEY = 64;

  /** The outcome of a check; on failure {@code reason} and {@code header} are set. */
  public record Result(
      boolean valid,
      DeadLetterReason reason,
      String header,
      String msgId,
      int protocol,
      String type,
      int version) {
    static Result fail(DeadLetterReason reason, String header) {
      return new Result(false, reason, header, null, 0, null, 0);
    }

    /** A human-readable error for a dead-letter record. */
    public String error() {
      return valid
          ? ""
          : (reason == DeadLetterReason.MISSING_HEADER ? "missing header " : "malformed header ")
              + header;
    }
  }

  private HeaderCheck() {}

  /** The first value of {@code name}, or null. */
  public static String first(Headers h, String name) {
    if (h == null) {
      return null;
    }
    var values = h.get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  /** Validates the required headers. */
  public static Result check(Headers h) {
    // Each header is looked up once: presence of all four first, then their formats (§3).
    String id = first(h, Protocol.H_MSG_ID);
    String protocolValue = first(h, Protocol.H_PROTOCOL);
    String type = first(h, Protocol.H_TYPE);
    String versionValue = first(h, Protocol.H_TYPE_VERSION);
    String missing =
        absent(id)
            ? Protocol.H_MSG_ID
            : absent(protocolValue)
                ? Protocol.H_PROTOCOL
                : absent(type)
                    ? Protocol.H_TYPE
                    : absent(versionValue) ? Protocol.H_TYPE_VERSION : null;
    if (missing != null) {
      return Result.fail(DeadLetterReason.MISSING_HEADER, missing);
    }
    if (!msgId(id)) {
      return Result.fail(DeadLetterReason.BAD_HEADER, Protocol.H_MSG_ID);
    }
    int protocol = positive(protocolValue);
    if (protocol < 0) {
      return Result.fail(DeadLetterReason.BAD_HEADER, Protocol.H_PROTOCOL);
    }
    if (!typeName(type)) {
      return Result.fail(DeadLetterReason.BAD_HEADER, Protocol.H_TYPE);
    }
    int version = positive(versionValue);
    if (version < 0) {
      return Result.fail(DeadLetterReason.BAD_HEADER, Protocol.H_TYPE_VERSION);
    }
    return new Result(true, null, null, id, protocol, type, version);
  }

  private static boolean absent(String v) {
    return v == null || v.isEmpty();
  }

  /** A message id: 1 to 128 printable ASCII characters, no space (U+0021 to U+007E). */
  public static boolean msgId(String v) {
    int n = v.length();
    if (n < 1 || n > MAX_MSG_ID) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = v.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  /** A type name: 1 to 256 of {@code [A-Za-z0-9_./-]}. */
  public static boolean typeName(String v) {
    int n = v.length();
    if (n < 1 || n > MAX_TYPE) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = v.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '_'
              || c == '.'
              || c == '/'
              || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /**
   * A fairness key (§15.3 [v1.3]): 1 to 64 of {@code [A-Za-z0-9_.:@-]}. A worker never validates
   * it: a message with a malformed key is handled like any other.
   */
  public static boolean fairnessKey(String v) {
    int n = v.length();
    if (n < 1 || n > MAX_FAIRNESS_KEY) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = v.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '_'
              || c == '.'
              || c == ':'
              || c == '@'
              || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /**
   * A positive decimal without sign or leading zero ({@code [1-9][0-9]{0,9}}) that fits an {@code
   * int}; its value, or -1 when it is not one.
   */
  static int positive(String v) {
    int n = v.length();
    if (n < 1 || n > 10 || v.charAt(0) == '0') {
      return -1;
    }
    long value = 0;
    for (int i = 0; i < n; i++) {
      char c = v.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value > Integer.MAX_VALUE ? -1 : (int) value;
  }
}
