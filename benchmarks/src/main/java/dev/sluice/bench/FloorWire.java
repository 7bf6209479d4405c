package dev.sluice.bench;

import dev.sluice.SluiceHeaders;
import io.nats.client.impl.Headers;
import java.util.UUID;

/**
 * What the raw pipeline's messages carry, from none of Sluice's headers to all of them: the floors
 * that separate what the wire costs from what Sluice's implementation costs ({@code credit-overhead
 * --floor}, docs/BENCHMARKS.md). Each shape builds a send's header block and reads a delivery's
 * headers as a worker must before it acks; nothing else (no credits, no idempotency).
 */
enum FloorWire {
  /** The raw pipeline: no headers. */
  NONE("raw"),

  /** A fresh {@code Nats-Msg-Id} only: what JetStream's de-duplication costs. */
  ID("raw-id"),

  /**
   * The header block the Java producer sends for the benchmark's Sluice message (PROTOCOL.md §3),
   * same names, same value shapes and lengths, in the same order.
   */
  WIRE("raw-wire"),

  /**
   * For measurement only, not the protocol: {@code Nats-Msg-Id}, {@code traceparent} and one line
   * {@code Sluice: 1;<type>;<type-version>;<producer>;<sent-at-ms>}.
   */
  COMPACT("raw-compact");

  static final String COMPACT_HEADER = "Sluice";

  private final String pipeline;

  FloorWire(String pipeline) {
    this.pipeline = pipeline;
  }

  /** The pipeline's name in results and JSON. */
  String pipeline() {
    return pipeline;
  }

  /** The shape of pipeline {@code name}, or null when it is not a raw pipeline. */
  static FloorWire of(String name) {
    for (FloorWire w : values()) {
      if (w.pipeline.equals(name)) {
        return w;
      }
    }
    return null;
  }

  /** A producer id shaped as the Java producer's default ({@code java-} and 8 hex digits). */
  static String producerId() {
    return "java-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** The header block of one send, or null for {@link #NONE}. */
  Headers headers(String producerId) {
    return switch (this) {
      case NONE -> null;
      case ID -> new FloorHeaders().add(SluiceHeaders.MSG_ID, FloorHeaders.messageId());
      case WIRE ->
          new FloorHeaders()
              .add(SluiceHeaders.MSG_ID, FloorHeaders.messageId())
              .add(SluiceHeaders.PROTOCOL, "1")
              .add(SluiceHeaders.TYPE, SluicePipeline.TYPE)
              .add(SluiceHeaders.TYPE_VERSION, "1")
              .add(SluiceHeaders.CONTENT_TYPE, SluicePipeline.CONTENT_TYPE)
              .add(SluiceHeaders.TRACEPARENT, FloorHeaders.traceparent())
              .add(SluiceHeaders.PRODUCER, producerId)
              .add(SluiceHeaders.SENT_AT, Long.toString(System.currentTimeMillis()));
      case COMPACT ->
          new FloorHeaders()
              .add(SluiceHeaders.MSG_ID, FloorHeaders.messageId())
              .add(SluiceHeaders.TRACEPARENT, FloorHeaders.traceparent())
              .add(
                  COMPACT_HEADER,
                  "1;"
                      + SluicePipeline.TYPE
                      + ";1;"
                      + producerId
                      + ";"
                      + System.currentTimeMillis());
    };
  }

  /**
   * Reads a delivery's headers as a worker must before it runs the handler: looks up the required
   * ones (§3: id, protocol, type, type version) and parses the numbers.
   *
   * @return false when one is missing or malformed (the pipeline counts it; it must stay 0)
   */
  boolean read(Headers h) {
    return switch (this) {
      case NONE -> true;
      case ID -> present(h.getFirst(SluiceHeaders.MSG_ID));
      case WIRE ->
          present(h.getFirst(SluiceHeaders.MSG_ID))
              && positive(h.getFirst(SluiceHeaders.PROTOCOL))
              && present(h.getFirst(SluiceHeaders.TYPE))
              && positive(h.getFirst(SluiceHeaders.TYPE_VERSION));
      case COMPACT ->
          present(h.getFirst(SluiceHeaders.MSG_ID)) && compact(h.getFirst(COMPACT_HEADER));
    };
  }

  private static boolean present(String v) {
    return v != null && !v.isEmpty();
  }

  private static boolean positive(String v) {
    return v != null && positive(v, 0, v.length());
  }

  private static boolean positive(String v, int from, int to) {
    if (to <= from || to - from > 10) {
      return false;
    }
    long n = 0;
    for (int i = from; i < to; i++) {
      char c = v.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
      n = n * 10 + (c - '0');
    }
    return n > 0 && n <= Integer.MAX_VALUE;
  }

  /** {@code protocol;type;version;producer;sent-at}: five fields, the two numbers positive. */
  private static boolean compact(String v) {
    if (v == null) {
      return false;
    }
    int a = v.indexOf(';');
    int b = a < 0 ? -1 : v.indexOf(';', a + 1);
    int c = b < 0 ? -1 : v.indexOf(';', b + 1);
    int d = c < 0 ? -1 : v.indexOf(';', c + 1);
    return d > c + 1 && positive(v, 0, a) && b > a + 1 && positive(v, b + 1, c);
  }
}
