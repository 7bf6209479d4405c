package dev.sluice.internal.wire;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** The idempotency key of a message id (protocol §9). Thread-safe: stateless. */
public final class IdKeys {
  private static final int MAX_PLAIN = 200;

  private IdKeys() {}

  /** The id itself when plain, else {@code =} + hex SHA-256 of its UTF-8 bytes. */
  public static String idKey(String msgId) {
    if (plain(msgId)) {
      return msgId;
    }
    try {
      byte[] d =
          MessageDigest.getInstance("SHA-256").digest(msgId.getBytes(StandardCharsets.UTF_8));
      return "=" + HexFormat.of().formatHex(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  /** {@code [A-Za-z0-9_-]{1,200}}, checked by hand: it runs for every message. */
  static boolean plain(String id) {
    int n = id.length();
    if (n < 1 || n > MAX_PLAIN) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = id.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '_'
              || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /** The key in the {@code sluice-processed} bucket. */
  public static String storeKey(String queue, String msgId) {
    return queue + "." + idKey(msgId);
  }
}
