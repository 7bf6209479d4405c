package dev.sluice.internal.wire;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** The idempotency key of a message id (protocol §9). */
public final class IdKeys {
  private static final Pattern PLAIN = Pattern.compile("^[A-Za-z0-9_-]{1,200}$");

  private IdKeys() {}

  /** The id itself when plain, else {@code =} + hex SHA-256 of its UTF-8 bytes. */
  public static String idKey(String msgId) {
    if (PLAIN.matcher(msgId).matches()) {
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

  /** The key in the {@code sluice-processed} bucket. */
  public static String storeKey(String queue, String msgId) {
    return queue + "." + idKey(msgId);
  }
}
