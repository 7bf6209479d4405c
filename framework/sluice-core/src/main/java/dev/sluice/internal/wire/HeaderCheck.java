package dev.sluice.internal.wire;

import dev.sluice.DeadLetterReason;
import io.nats.client.impl.Headers;
import java.util.regex.Pattern;

/** Worker-side header validation, in the order of protocol §3. */
public final class HeaderCheck {
  private static final Pattern MSG_ID = Pattern.compile("^[\\x21-\\x7e]{1,128}$");
  private static final Pattern TYPE = Pattern.compile("^[A-Za-z0-9_./-]{1,256}$");
  private static final Pattern POSITIVE = Pattern.compile("^[1-9][0-9]{0,9}$");
  private static final String[] REQUIRED = {
    Protocol.H_MSG_ID, Protocol.H_PROTOCOL, Protocol.H_TYPE, Protocol.H_TYPE_VERSION
  };

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
    for (String name : REQUIRED) {
      String v = first(h, name);
      if (v == null || v.isEmpty()) {
        return Result.fail(DeadLetterReason.MISSING_HEADER, name);
      }
    }
    String id = first(h, Protocol.H_MSG_ID);
    if (!MSG_ID.matcher(id).matches()) {
      return Result.fail(DeadLetterReason.BAD_HEADER, Protocol.H_MSG_ID);
    }
    String protocol = first(h, Protocol.H_PROTOCOL);
    if (!POSITIVE.matcher(protocol).matches() || Long.parseLong(protocol) > Integer.MAX_VALUE) {
      return Result.fail(DeadLetterReason.BAD_HEADER, Protocol.H_PROTOCOL);
    }
    String type = first(h, Protocol.H_TYPE);
    if (!TYPE.matcher(type).matches()) {
      return Result.fail(DeadLetterReason.BAD_HEADER, Protocol.H_TYPE);
    }
    String version = first(h, Protocol.H_TYPE_VERSION);
    if (!POSITIVE.matcher(version).matches() || Long.parseLong(version) > Integer.MAX_VALUE) {
      return Result.fail(DeadLetterReason.BAD_HEADER, Protocol.H_TYPE_VERSION);
    }
    return new Result(
        true, null, null, id, Integer.parseInt(protocol), type, Integer.parseInt(version));
  }
}
