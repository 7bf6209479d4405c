package dev.sluice.internal.schedule;

import dev.sluice.CreditTimeoutException;
import dev.sluice.SendResult;
import dev.sluice.UnsupportedVersionException;
import dev.sluice.internal.producer.ProducerRuntime;
import dev.sluice.internal.telemetry.Metrics;
import dev.sluice.internal.time.Clock;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fires one queue's due schedules (protocol §13.4, §13.6). Every firer renews the firing lease each
 * interval; the one that holds it indexes the schedule stream with an ordered consumer and, for
 * each due entry, re-reads it (a cancelled one is gone), sends it through its own producer (which
 * waits for a credit like any send, with the fired message id as {@code Nats-Msg-Id}), then removes
 * it or, for a cron, moves it to its next tick. Thread-safe.
 */
public final class Firer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Firer.class);

  /**
   * A held entry (no credit in time, no live worker handles its type) is tried again after this.
   */
  static final long HOLD_RETRY_MS = 1_000;

  private static final long PUMP_EVERY_MS = 10;

  /**
   * How a firer runs.
   *
   * @param queue the queue
   * @param holderId this firer's id in the lease
   * @param leaseInterval how often the lease is renewed; it lapses after three
   * @param maxInFlight at most this many entries being fired at once (each may wait for a credit)
   * @param acquireTimeout how long one firing waits for a credit before it is tried again
   * @param metrics where lateness and counts go
   * @param clock the time
   */
  public record Settings(
      String queue,
      String holderId,
      Duration leaseInterval,
      int maxInFlight,
      Duration acquireTimeout,
      Metrics metrics,
      Clock clock) {}

  private final Settings s;
  private final Clock clock;
  private final ProducerRuntime producer;
  private final ScheduleStore store;
  private final FiringLease lease;
  private final DueIndex index = new DueIndex();
  private final ScheduledExecutorService timer;
  private final ExecutorService pool;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicLong fired = new AtomicLong();
  private final AtomicLong firstFiredAtMs = new AtomicLong();
  private final Set<String> warned = ConcurrentHashMap.newKeySet();
  private final long ttlMs;
  private volatile long leaderUntilMs;
  private volatile boolean running = true;
  private final IndexFeed feed;

  public Firer(Connection nc, Settings settings, ProducerRuntime producer, ScheduleStore store)
      throws java.io.IOException {
    this.s = settings;
    this.clock = settings.clock();
    this.producer = producer;
    this.store = store;
    this.ttlMs = 3 * settings.leaseInterval().toMillis();
    this.feed = new IndexFeed(nc, settings.queue(), index, store);
    this.lease =
        new FiringLease(nc.keyValue(Protocol.CONTROL_BUCKET), s.queue(), s.holderId(), ttlMs);
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> daemon(r, "sluice-scheduler-" + s.queue() + "-timer"));
    this.pool =
        Executors.newFixedThreadPool(
            settings.maxInFlight(), r -> daemon(r, "sluice-scheduler-" + s.queue() + "-fire"));
    Metrics m = settings.metrics();
    m.gauge("sluice.scheduler.pending", index::size);
    m.gauge("sluice.scheduler.overdue", () -> index.overdue(clock.millis()));
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Starts renewing the lease and, while it is held, firing. */
  public void start() {
    long every = s.leaseInterval().toMillis();
    timer.scheduleWithFixedDelay(this::renew, 0, every, TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(this::pump, PUMP_EVERY_MS, PUMP_EVERY_MS, TimeUnit.MILLISECONDS);
  }

  /** Whether this firer holds the firing role now. */
  public boolean isFiring() {
    return feed.active() && clock.millis() < leaderUntilMs;
  }

  /** Entries this firer has fired into the queue. */
  public long fired() {
    return fired.get();
  }

  /** When this firer fired its first entry (Unix ms), or 0. */
  public long firstFiredAtMs() {
    return firstFiredAtMs.get();
  }

  /** Entries this firer knows of that have not fired yet. */
  public int pending() {
    return index.size();
  }

  private void renew() {
    long now = clock.millis();
    boolean held;
    try {
      held = running && lease.renew(now);
    } catch (Exception e) {
      LOG.warn("schedule firer {} of queue {}: lease: {}", s.holderId(), s.queue(), e.toString());
      held = false;
      // Keep firing until the lease this process last wrote lapses: no one else may take it.
      if (feed.active() && now < leaderUntilMs) {
        return;
      }
    }
    if (held) {
      leaderUntilMs = now + ttlMs - s.leaseInterval().toMillis();
      if (!feed.active()) {
        becomeFirer();
      } else {
        feed.check(now);
      }
    } else if (feed.active()) {
      stepDown();
    }
  }

  private void becomeFirer() {
    if (feed.start()) {
      LOG.info("{} now fires the schedules of queue {}", s.holderId(), s.queue());
    }
  }

  private void stepDown() {
    LOG.info("{} no longer fires the schedules of queue {}", s.holderId(), s.queue());
    feed.stop();
    index.clear();
  }

  private void pump() {
    if (!running || !isFiring()) {
      return;
    }
    long now = clock.millis();
    while (inFlight.get() < s.maxInFlight()) {
      DueIndex.Slot slot = index.pollDue(now);
      if (slot == null) {
        return;
      }
      inFlight.incrementAndGet();
      pool.execute(
          () -> {
            try {
              fire(slot);
            } finally {
              inFlight.decrementAndGet();
            }
          });
    }
  }

  private void fire(DueIndex.Slot slot) {
    try {
      Optional<ScheduleEntry> current;
      try {
        current = store.newest(slot.subject());
      } catch (IllegalArgumentException malformed) {
        // Not an entry this library can fire (a required header is missing): leave it stored
        // for an operator to see and cancel, and stop trying.
        if (warned.add("malformed:" + slot.subject())) {
          LOG.error(
              "schedule {} of queue {} is not fired: {}",
              slot.subject(),
              s.queue(),
              malformed.getMessage());
        }
        index.done(slot);
        return;
      }
      if (current.isEmpty()) {
        index.done(slot); // cancelled, or fired by a previous holder
        return;
      }
      ScheduleEntry e = current.get();
      if (e.sequence() != slot.sequence() || e.dueMs() > clock.millis()) {
        index.done(slot);
        index.offer(e.subject(), e.sequence(), e.dueMs()); // replaced meanwhile
        return;
      }
      SendResult r = producer.sendAsync(e.toMessage(), e.body(), s.acquireTimeout()).get();
      long firedAt = clock.millis();
      firstFiredAtMs.compareAndSet(0, firedAt);
      fired.incrementAndGet();
      s.metrics()
          .timeNanos(
              "sluice.scheduler.lateness",
              TimeUnit.MILLISECONDS.toNanos(Math.max(0, firedAt - e.dueMs())));
      if (e.recurring()) {
        advance(e, firedAt);
      } else {
        store
            .removeAsync(e.sequence())
            .exceptionally(
                err -> {
                  // The message is stored: the entry fires again later and the stream drops the
                  // duplicate (§13.4), then it is removed.
                  LOG.warn("removing fired schedule {} of queue {}: {}", e.id(), s.queue(), err);
                  index.retry(slot, clock.millis() + HOLD_RETRY_MS);
                  return null;
                });
      }
      LOG.debug("fired {} of queue {} as seq {}", e.id(), s.queue(), r.streamSequence());
      index.done(slot);
    } catch (ExecutionException ex) {
      held(slot, ex.getCause());
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
      index.retry(slot, clock.millis());
    } catch (Exception ex) {
      held(slot, ex);
    }
  }

  private void held(DueIndex.Slot slot, Throwable why) {
    long now = clock.millis();
    if (why instanceof CreditTimeoutException) {
      index.retry(slot, now); // no credit yet: it waits in the schedule, late
    } else if (why instanceof UnsupportedVersionException uve) {
      if (warned.add("version:" + slot.subject())) {
        LOG.warn(
            "schedule {} of queue {} is held until a live worker handles its type: {}",
            slot.subject(),
            s.queue(),
            uve.getMessage());
      }
      index.retry(slot, now + HOLD_RETRY_MS);
    } else {
      LOG.warn(
          "firing schedule {} of queue {} failed ({}); trying again",
          slot.subject(),
          s.queue(),
          why.toString());
      index.retry(slot, now + HOLD_RETRY_MS);
    }
  }

  /** Moves a fired cron entry to its next tick after now (missed ticks are not replayed). */
  private void advance(ScheduleEntry e, long firedAt) throws Exception {
    CronSpec cron;
    try {
      cron = CronSpec.parse(e.cron(), e.zone());
    } catch (IllegalArgumentException bad) {
      LOG.error("schedule {} of queue {} is removed: {}", e.id(), s.queue(), bad.getMessage());
      store.remove(e.sequence());
      return;
    }
    Optional<Long> next = cron.nextAfter(Math.max(e.dueMs(), firedAt));
    if (next.isEmpty()) {
      store.remove(e.sequence());
      return;
    }
    long seq =
        store.replace(
            e.id(), e.sequence(), ScheduleWire.advanced(e.headers(), next.get()), e.body());
    if (seq > 0) {
      index.offer(e.subject(), seq, next.get()); // known now, whatever the index consumer does
    }
  }

  /** Stops firing, interrupts firings waiting for credit, gives the lease up. */
  @Override
  public void close() {
    running = false;
    timer.shutdown();
    // A firing waiting for a credit is interrupted: its entry stays and the next holder fires it
    // (a send already on its way is a duplicate that the work stream drops, §13.4).
    pool.shutdownNow();
    try {
      timer.awaitTermination(5, TimeUnit.SECONDS);
      pool.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    feed.stop();
    try {
      lease.release();
    } catch (Exception e) {
      LOG.debug("releasing the firing lease of queue {}: {}", s.queue(), e.toString());
    }
  }
}
