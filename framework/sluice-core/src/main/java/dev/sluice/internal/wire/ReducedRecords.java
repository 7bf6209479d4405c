package dev.sluice.internal.wire;

import dev.sluice.SluiceHeaders;
import io.nats.client.impl.Headers;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * Fits a dead-letter record within the server's limits (protocol §8.4): drops the largest copied
 * original headers while the header block is too large, and cuts the payload, saying its original
 * length and SHA-256, while the record is too large. Pure and thread-safe.
 */
public final class ReducedRecords {
  /** nats-server refuses a JetStream message whose header block is larger than this. */
  public static final int HEADER_LIMIT = 65535;

  /** The longest {@code Sluice-Dlq-Dropped-Headers} value, in characters. */
  public static final int DROPPED_LIST_MAX_CHARS = 1024;

  private static final int BLOCK_OVERHEAD = 12; // "NATS/1.0\r\n" and the closing "\r\n"
  private static final int LINE_OVERHEAD = 4; // ": " and "\r\n"

  private ReducedRecords() {}

  /** The record as published, and what was cut; {@code reduced()} is false when nothing was. */
  public record Reduced(Headers headers, byte[] payload, List<String> dropped, boolean cut) {
    public boolean reduced() {
      return cut || !dropped.isEmpty();
    }
  }

  /**
   * Reduces {@code record} (the full §8.1 headers) and {@code payload} until they fit in {@code
   * maxPayload} bytes with a header block of at most {@code min(65535, maxPayload)} bytes.
   *
   * @throws IllegalStateException if the protocol's own headers alone exceed the limit
   */
  public static Reduced reduce(Headers record, byte[] payload, long maxPayload) {
    Headers h = copy(record);
    long limit = Math.min(HEADER_LIMIT, maxPayload);
    List<String> dropped = new ArrayList<>();
    boolean cut = false;
    while (true) {
      long size = size(withNotes(h, dropped, cut, payload));
      if (size > limit) {
        String victim = largestDroppable(h);
        if (victim == null) {
          throw new IllegalStateException(
              "the dead-letter headers alone take " + size + " bytes, over the limit " + limit);
        }
        dropped.add(victim);
        h.remove(victim);
      } else if (!cut && size + payload.length > maxPayload) {
        cut = true;
      } else {
        Headers out = withNotes(h, dropped, cut, payload);
        byte[] body =
            cut ? Arrays.copyOf(payload, keep(payload.length, maxPayload - size(out))) : payload;
        return new Reduced(out, body, List.copyOf(dropped), cut);
      }
    }
  }

  /** The payload bytes that fit in {@code room}: never negative, never more than there are. */
  private static int keep(int length, long room) {
    return (int) Math.max(0, Math.min(length, room));
  }

  /** The canonical size of a header block: every client's encoding is at most this. */
  public static long size(Headers h) {
    long total = BLOCK_OVERHEAD;
    for (String k : h.keySet()) {
      total += lineSize(k, h.get(k));
    }
    return total;
  }

  private static long lineSize(String name, List<String> values) {
    long total = 0;
    int nameBytes = utf8Length(name);
    for (String v : values) {
      total += nameBytes + utf8Length(v) + LINE_OVERHEAD;
    }
    return total;
  }

  /**
   * The length of {@code s} in UTF-8, counted without encoding it: every send's header block is
   * measured, and an encoded copy of each name and value was most of that cost.
   */
  static int utf8Length(String s) {
    int n = s.length();
    int bytes = n;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        continue;
      }
      if (c < 0x800) {
        bytes += 1;
      } else if (!Character.isSurrogate(c)) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < n
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        bytes += 2; // a pair: 4 bytes for its 2 chars
        i++;
      } // a lone surrogate is encoded as '?', one byte, as String.getBytes does
    }
    return bytes;
  }

  /** The copied original header with the most bytes (ties: the smaller name in byte order). */
  private static String largestDroppable(Headers h) {
    String best = null;
    long bestSize = -1;
    for (String k : h.keySet()) {
      if (k.equals(Protocol.H_MSG_ID) || k.startsWith("Sluice-Dlq-")) {
        continue;
      }
      long s = lineSize(k, h.get(k));
      if (s > bestSize || (s == bestSize && compareBytes(k, best) < 0)) {
        best = k;
        bestSize = s;
      }
    }
    return best;
  }

  private static int compareBytes(String a, String b) {
    return Arrays.compareUnsigned(
        a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  private static Headers withNotes(Headers h, List<String> dropped, boolean cut, byte[] payload) {
    Headers out = copy(h);
    if (!dropped.isEmpty()) {
      String list = String.join(",", dropped);
      out.put(
          SluiceHeaders.DLQ_DROPPED_HEADERS,
          list.length() <= DROPPED_LIST_MAX_CHARS
              ? list
              : list.substring(0, DROPPED_LIST_MAX_CHARS));
    }
    if (cut) {
      out.put(SluiceHeaders.DLQ_PAYLOAD_LENGTH, Integer.toString(payload.length));
      out.put(SluiceHeaders.DLQ_PAYLOAD_SHA256, sha256(payload));
    }
    return out;
  }

  private static Headers copy(Headers h) {
    Headers out = new Headers();
    for (String k : h.keySet()) {
      out.put(k, h.get(k));
    }
    return out;
  }

  /** Lowercase hex SHA-256 of {@code data}. */
  public static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }
}
