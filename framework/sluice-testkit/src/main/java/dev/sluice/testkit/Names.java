package dev.sluice.testkit;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Unique, valid names for streams, consumers, queues and buckets, so tests that share one server
 * never see each other's objects. Names use only {@code [a-z0-9-]}, which every JetStream object
 * and Sluice queue accepts.
 */
public final class Names {
  private static final AtomicLong COUNTER = new AtomicLong();
  private static final String RUN = Long.toString(System.nanoTime() % 1_000_000L, 36);

  private Names() {}

  /** A name that starts with {@code prefix} and is unique within this JVM. */
  public static String unique(String prefix) {
    String clean = prefix.toLowerCase().replaceAll("[^a-z0-9]+", "-").replaceAll("(^-|-$)", "");
    if (clean.length() > 24) {
      clean = clean.substring(0, 24);
    }
    return (clean.isEmpty() ? "t" : clean) + "-" + RUN + "-" + COUNTER.incrementAndGet();
  }
}
