package dev.sluice.internal.schedule;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import io.nats.client.PushSubscribeOptions;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.DeliverPolicy;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds the firer's {@link DueIndex} from the schedule stream (§13.4): an ordered consumer that
 * consumes nothing, replaced by a new one that reads on from the last sequence seen when it has
 * stalled (a server restart or a leader change can end an ephemeral consumer, and its own recovery
 * waits for missed heartbeats). Driven by the firer's timer thread; the index is thread-safe.
 */
final class IndexFeed {
  private static final Logger LOG = LoggerFactory.getLogger(IndexFeed.class);

  /** How often the feed checks that its consumer still reads the stream. */
  private static final long CHECK_EVERY_MS = 3_000;

  private final Connection nc;
  private final String queue;
  private final DueIndex index;
  private final ScheduleStore store;
  private final AtomicLong consumedSeq = new AtomicLong();
  private final Set<String> warned = ConcurrentHashMap.newKeySet();
  private long seenAtLastCheck = -1;
  private long lastCheckMs;
  private volatile Dispatcher dispatcher;

  IndexFeed(Connection nc, String queue, DueIndex index, ScheduleStore store) {
    this.nc = nc;
    this.queue = queue;
    this.index = index;
    this.store = store;
  }

  /** Whether a consumer is reading. */
  boolean active() {
    return dispatcher != null;
  }

  /** Starts reading the whole stream into an empty index; false when the stream is unreadable. */
  boolean start() {
    index.clear();
    consumedSeq.set(0);
    seenAtLastCheck = -1;
    return subscribe(1);
  }

  /**
   * Replaces the consumer when the stream holds writes it has not delivered at two checks in a row.
   */
  void check(long nowMs) {
    if (nowMs - lastCheckMs < CHECK_EVERY_MS) {
      return;
    }
    lastCheckMs = nowMs;
    long seen = consumedSeq.get();
    try {
      long last = store.lastSequence();
      boolean behind = last > seen && seen == seenAtLastCheck;
      seenAtLastCheck = seen;
      if (behind) {
        LOG.info(
            "schedule index of queue {} stalled at {} of {}; reading on with a new consumer",
            queue,
            seen,
            last);
        stop();
        subscribe(seen + 1);
      }
    } catch (Exception e) {
      LOG.debug("schedule index check of queue {}: {}", queue, e.toString());
    }
  }

  /** Stops reading (the index keeps what it has). */
  void stop() {
    Dispatcher d = dispatcher;
    dispatcher = null;
    if (d != null) {
      try {
        nc.closeDispatcher(d);
      } catch (RuntimeException ignored) {
        // the connection is closing
      }
    }
  }

  private boolean subscribe(long fromSeq) {
    Dispatcher d = nc.createDispatcher();
    try {
      nc.jetStream()
          .subscribe(
              ScheduleWire.filter(queue),
              d,
              this::onEntry,
              false,
              PushSubscribeOptions.builder().stream(ScheduleWire.stream(queue))
                  .ordered(true)
                  .configuration(
                      ConsumerConfiguration.builder()
                          .deliverPolicy(DeliverPolicy.ByStartSequence)
                          .startSequence(fromSeq)
                          .build())
                  .build());
      dispatcher = d;
      return true;
    } catch (Exception e) {
      LOG.warn(
          "cannot read {} ({}); provision queue {} again if it is missing",
          ScheduleWire.stream(queue),
          e.toString(),
          queue);
      try {
        nc.closeDispatcher(d);
      } catch (RuntimeException ignored) {
        // the connection is closing
      }
      return false;
    }
  }

  private void onEntry(Message m) {
    String due = m.getHeaders() == null ? null : m.getHeaders().getFirst(ScheduleWire.H_DUE_AT);
    try {
      long seq = m.metaData().streamSequence();
      consumedSeq.accumulateAndGet(seq, Math::max);
      index.offer(m.getSubject(), seq, Long.parseLong(due));
    } catch (RuntimeException malformed) {
      if (warned.add(m.getSubject())) {
        LOG.warn(
            "schedule entry {} of queue {} has no readable {}; it is not fired",
            m.getSubject(),
            queue,
            ScheduleWire.H_DUE_AT);
      }
    }
  }
}
