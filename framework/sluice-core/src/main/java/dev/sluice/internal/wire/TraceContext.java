package dev.sluice.internal.wire;

import java.util.concurrent.ThreadLocalRandom;

/**
 * W3C Trace Context: parse, continue and generate {@code traceparent} (protocol §10). Parsing and
 * id generation run for every message, so both work on chars directly: no regular expression, no
 * byte arrays. Thread-safe: immutable.
 */
public record TraceContext(String traceId, String spanId, String flags) {
  /** {@code 00-} + 32 + {@code -} + 16 + {@code -} + 2. */
  private static final int LENGTH = 55;

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  /** The parsed header, or null when it is absent or malformed. */
  public static TraceContext parse(String traceparent) {
    if (traceparent == null
        || traceparent.length() != LENGTH
        || traceparent.charAt(0) != '0'
        || traceparent.charAt(1) != '0'
        || traceparent.charAt(2) != '-'
        || traceparent.charAt(35) != '-'
        || traceparent.charAt(52) != '-'
        || !lowerHex(traceparent, 3, 35)
        || !lowerHex(traceparent, 36, 52)
        || !lowerHex(traceparent, 53, 55)
        || allZero(traceparent, 3, 35)
        || allZero(traceparent, 36, 52)) {
      return null;
    }
    return new TraceContext(
        traceparent.substring(3, 35), traceparent.substring(36, 52), traceparent.substring(53));
  }

  /** A new sampled trace with a new span. */
  public static TraceContext newTrace() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long hi = r.nextLong();
    long lo = nonZero(hi, r);
    return new TraceContext(hex(hi, hex(lo, null)), hex(nonZero(0, r), null), SAMPLED);
  }

  /**
   * The {@code traceparent} header of a new trace with a new span, written in one pass into one
   * string (a producer sends it and needs nothing else of it).
   *
   * @param sampled the W3C sampled flag ({@code 01}); unsampled is {@code 00}
   */
  public static String newTraceHeader(boolean sampled) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long hi = r.nextLong();
    long lo = nonZero(hi, r);
    char[] c = new char[LENGTH];
    c[0] = '0';
    c[1] = '0';
    c[2] = '-';
    hex(hi, c, 3);
    hex(lo, c, 19);
    c[35] = '-';
    hex(nonZero(0, r), c, 36);
    c[52] = '-';
    c[53] = '0';
    c[54] = sampled ? '1' : '0';
    return new String(c);
  }

  /** A child span in the same trace. */
  public TraceContext child() {
    return new TraceContext(traceId, hex(nonZero(0, ThreadLocalRandom.current()), null), flags);
  }

  /** The W3C flags of a sampled trace. */
  public static final String SAMPLED = "01";

  /** The {@code traceparent} header value. */
  public String header() {
    return "00-" + traceId + "-" + spanId + "-" + flags;
  }

  /** A random long, never zero when {@code other} is zero (an id must not be all zero). */
  private static long nonZero(long other, ThreadLocalRandom r) {
    long v = r.nextLong();
    while (v == 0 && other == 0) {
      v = r.nextLong();
    }
    return v;
  }

  /** {@code v} as 16 lower-case hex digits, followed by {@code tail} when given. */
  private static String hex(long v, String tail) {
    int n = tail == null ? 16 : 16 + tail.length();
    char[] c = new char[n];
    for (int i = 15; i >= 0; i--) {
      c[i] = HEX[(int) (v & 0xf)];
      v >>>= 4;
    }
    if (tail != null) {
      tail.getChars(0, tail.length(), c, 16);
    }
    return new String(c);
  }

  /** {@code v} as 16 lower-case hex digits at {@code c[at]}. */
  private static void hex(long v, char[] c, int at) {
    for (int i = at + 15; i >= at; i--) {
      c[i] = HEX[(int) (v & 0xf)];
      v >>>= 4;
    }
  }

  private static boolean lowerHex(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  private static boolean allZero(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      if (s.charAt(i) != '0') {
        return false;
      }
    }
    return true;
  }
}
