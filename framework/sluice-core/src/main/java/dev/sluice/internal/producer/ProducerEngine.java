package dev.sluice.internal.producer;

import dev.sluice.CreditTimeoutException;
import dev.sluice.OutgoingMessage;
import dev.sluice.PublishException;
import dev.sluice.SendResult;
import dev.sluice.SluiceException;
import dev.sluice.UnsupportedVersionException;
import dev.sluice.VersionPolicy;
import dev.sluice.internal.credit.Credits;
import dev.sluice.internal.credit.QueueConfig;
import dev.sluice.internal.credit.TokenMinter;
import dev.sluice.internal.credit.Window;
import dev.sluice.internal.nats.KvBoard;
import dev.sluice.internal.nats.StartupErrors;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.HandledType;
import dev.sluice.internal.proto.MintReason;
import dev.sluice.internal.proto.ProducerReport;
import dev.sluice.internal.telemetry.Metrics;
import dev.sluice.internal.telemetry.Tracing;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.wire.TraceContext;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamSubscription;
import io.nats.client.KeyValue;
import io.nats.client.Message;
import io.nats.client.PublishOptions;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.PublishAck;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The producer side of the credit protocol (§6): acquires tokens with single-message pulls, holds
 * them un-acked while spending, extends their lease, reports held credits before acking, returns
 * what it does not use. Thread-safe.
 */
public final class ProducerEngine implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ProducerEngine.class);

  /** The settings a producer runs with (validated by the public builder). */
  public record Settings(
      String queue,
      String producerId,
      int prefetch,
      Duration acquireTimeout,
      Duration pullExpiry,
      Duration reportInterval,
      Duration reportTtl,
      Duration idleReturn,
      Duration publishTimeout,
      VersionPolicy versionPolicy,
      Metrics metrics) {}

  private final Connection nc;
  private final JetStream js;
  private final KeyValue control;
  private final Settings s;
  private final KvBoard<CapacityAdvert> adverts;
  private final TokenMinter minter;
  private final Duration lease;
  private final ScheduledExecutorService timer;
  private final List<Thread> slots = new ArrayList<>();
  private final Object lock = new Object();
  private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
  private final List<Held> held = new ArrayList<>();
  private final Set<String> warnedVersions = ConcurrentHashMap.newKeySet();
  private final java.util.Map<String, Long> versionOk = new ConcurrentHashMap<>();
  private final AtomicLong sent = new AtomicLong();
  private volatile boolean running = true;
  private volatile boolean hitHardLimit;
  private int activePulls;
  private int tokenBatch;
  private int standingBuffer;
  private long lastLeaseExtend = System.nanoTime();
  private boolean lastReportNonEmpty;
  private boolean settlePending;
  private volatile long lastRewatchMs = System.currentTimeMillis();

  private static final class Held {
    final Message msg;
    final int value;
    int spent;
    int inFlight;
    long lastUsed = System.nanoTime();

    Held(Message msg, int value) {
      this.msg = msg;
      this.value = value;
    }

    int unspent() {
      return value - spent;
    }
  }

  private static final class Waiter {
    final CompletableFuture<Held> future = new CompletableFuture<>();
    final long enqueued = System.nanoTime();
    final long deadline;

    Waiter(long deadline) {
      this.deadline = deadline;
    }
  }

  public ProducerEngine(Connection nc, Settings settings) {
    this.nc = nc;
    this.s = settings;
    try {
      this.js = nc.jetStream();
      this.control = nc.keyValue(Protocol.CONTROL_BUCKET);
      var jsm = nc.jetStreamManagement();
      jsm.getStreamInfo(Protocol.workStream(s.queue()));
      this.lease =
          jsm.getConsumerInfo(Protocol.CREDIT_STREAM, Protocol.creditConsumer(s.queue()))
              .getConsumerConfiguration()
              .getAckWait();
      QueueConfig qc = QueueConfig.read(control, s.queue());
      this.tokenBatch = qc.tokenBatch();
      this.standingBuffer = qc.standingBuffer();
      this.adverts =
          new KvBoard<>(nc, Protocol.CAPACITY_BUCKET, s.queue() + ".*", CapacityAdvert::parseFrom);
    } catch (JetStreamApiException | IOException | InterruptedException e) {
      throw StartupErrors.of(s.queue(), "producer", e);
    }
    this.minter = new TokenMinter(js, s.queue(), s.producerId());
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> daemon(r, "sluice-producer-" + s.producerId() + "-timer"));
    for (int i = 0; i < s.prefetch(); i++) {
      Thread t = daemon(this::slotLoop, "sluice-producer-" + s.producerId() + "-pull-" + i);
      slots.add(t);
      t.start();
    }
    long every = s.reportInterval().toMillis();
    timer.scheduleWithFixedDelay(this::tick, every, every, TimeUnit.MILLISECONDS);
    s.metrics().gauge("sluice.producer.credits.held", s.queue(), this::heldUnspent);
    s.metrics().gauge("sluice.producer.waiting", s.queue(), this::waitingCount);
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  // ------------------------------------------------------------------------------------ sending

  /** Sends one message: waits for a credit (never on the caller's thread), then publishes. */
  public CompletableFuture<SendResult> sendAsync(OutgoingMessage m, Duration acquireTimeout) {
    if (!running) {
      return CompletableFuture.failedFuture(
          new SluiceException("producer " + s.producerId() + " is closed"));
    }
    try {
      checkVersion(m);
    } catch (UnsupportedVersionException e) {
      return CompletableFuture.failedFuture(e);
    }
    long deadline = System.nanoTime() + acquireTimeout.toNanos();
    // The parent span is the caller's: read it here, on the caller's thread.
    TraceContext parent = TraceContext.parse(m.traceparent());
    if (parent == null) {
      parent = Tracing.currentParent();
    }
    TraceContext traceParent = parent;
    return acquire(deadline).thenCompose(h -> publish(m, h, deadline, traceParent));
  }

  private CompletableFuture<Held> acquire(long deadline) {
    List<Runnable> after = new ArrayList<>();
    CompletableFuture<Held> f;
    synchronized (lock) {
      Held h = reserve();
      if (h != null && waiters.isEmpty()) {
        return CompletableFuture.completedFuture(h);
      }
      if (h != null) {
        unreserve(h, true);
      }
      Waiter w = new Waiter(deadline);
      waiters.add(w);
      f = w.future;
      serveWaiters(after);
      lock.notifyAll();
    }
    after.forEach(Runnable::run);
    return f;
  }

  /** Takes one credit from a held token, oldest first; null when none is left. Under lock. */
  private Held reserve() {
    for (Held h : held) {
      if (h.unspent() > 0) {
        h.spent++;
        h.inFlight++;
        h.lastUsed = System.nanoTime();
        return h;
      }
    }
    return null;
  }

  private void unreserve(Held h, boolean refund) {
    h.inFlight--;
    if (refund) {
      h.spent--;
    }
  }

  /** Hands credits to waiters in arrival order; completions run after the lock is released. */
  private void serveWaiters(List<Runnable> after) {
    while (!waiters.isEmpty()) {
      Held h = reserve();
      if (h == null) {
        return;
      }
      Waiter w = waiters.poll();
      long waited = System.nanoTime() - w.enqueued;
      after.add(
          () -> {
            s.metrics().timeNanos("sluice.producer.acquire", s.queue(), waited);
            if (!w.future.complete(h)) {
              release(h, true);
            }
          });
    }
  }

  private void release(Held h, boolean refund) {
    boolean settle;
    synchronized (lock) {
      unreserve(h, refund);
      settle = h.inFlight == 0 && h.unspent() == 0 && !settlePending;
      if (settle) {
        settlePending = true;
      }
    }
    if (settle) {
      // A spent token is reported and acked at once: while it stays stored, the reconciler
      // counts its credits twice (in T and in the backlog) and would see a false surplus.
      try {
        timer.execute(this::tick);
      } catch (java.util.concurrent.RejectedExecutionException closing) {
        // close() settles everything itself
      }
    }
  }

  private CompletableFuture<SendResult> publish(
      OutgoingMessage m, Held h, long deadline, TraceContext parent) {
    Headers headers = new Headers();
    headers.put(Protocol.H_MSG_ID, m.messageId());
    headers.put(Protocol.H_PROTOCOL, Integer.toString(Protocol.VERSION));
    headers.put(Protocol.H_TYPE, m.type());
    headers.put(Protocol.H_TYPE_VERSION, Integer.toString(m.version()));
    if (!m.contentType().equals(Protocol.DEFAULT_CONTENT_TYPE)) {
      headers.put(Protocol.H_CONTENT_TYPE, m.contentType()); // absent means the default (§3)
    }

    String traceparent = (parent != null ? parent.child() : TraceContext.newTrace()).header();
    headers.put(Protocol.H_TRACEPARENT, traceparent);
    if (m.tracestate() != null) {
      headers.put(Protocol.H_TRACESTATE, m.tracestate());
    }
    headers.put(Protocol.H_PRODUCER, s.producerId());
    headers.put(Protocol.H_SENT_AT, Long.toString(System.currentTimeMillis()));
    m.headers().forEach(headers::put);
    Message msg =
        NatsMessage.builder()
            .subject(Protocol.workSubject(s.queue()))
            .headers(headers)
            .data(m.payload())
            .build();
    // No expected-stream precondition: it would travel (and be stored) as a header on every
    // message; the work subject belongs to the work stream alone (§2).
    PublishOptions opts = PublishOptions.builder().streamTimeout(s.publishTimeout()).build();
    CompletableFuture<SendResult> result = new CompletableFuture<>();
    attempt(msg, opts, h, deadline, 0, false, traceparent, m.messageId(), result);
    return result;
  }

  private void attempt(
      Message msg,
      PublishOptions opts,
      Held h,
      long deadline,
      int tries,
      boolean maybeStored,
      String traceparent,
      String messageId,
      CompletableFuture<SendResult> result) {
    CompletableFuture<PublishAck> f;
    try {
      f =
          js.publishAsync(msg, opts)
              .orTimeout(s.publishTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete(
        (ack, err) -> {
          if (err == null) {
            boolean refund = ack.isDuplicate() && !maybeStored;
            if (!refund) {
              sent.incrementAndGet();
              hitHardLimit = false;
            }
            release(h, refund);
            result.complete(
                new SendResult(messageId, ack.getSeqno(), ack.isDuplicate(), traceparent));
            return;
          }
          Throwable cause = rootCause(err);
          boolean full =
              cause instanceof JetStreamApiException jse
                  && jse.getApiErrorCode() == Protocol.ERR_MAX_MSGS;
          boolean transient_ = cause instanceof IOException || cause instanceof TimeoutException;
          long now = System.nanoTime();
          if ((full || transient_) && now < deadline && running) {
            // The same Nats-Msg-Id on every try: a retry after a lost PubAck is a duplicate.
            if (full) {
              hitHardLimit = true;
            }
            long delay = Math.min(1000, 20L << Math.min(tries, 6));
            timer.schedule(
                () ->
                    attempt(
                        msg,
                        opts,
                        h,
                        deadline,
                        tries + 1,
                        maybeStored || transient_,
                        traceparent,
                        messageId,
                        result),
                delay,
                TimeUnit.MILLISECONDS);
            return;
          }
          // A failure that a retry cannot fix, or out of time. Keep the credit reserved if the
          // message may have been stored: over-counting is the safe side.
          release(h, !maybeStored && !transient_);
          if (full) {
            result.completeExceptionally(
                new CreditTimeoutException(
                    CreditTimeoutException.Reason.STREAM_AT_HARD_LIMIT,
                    "work stream "
                        + Protocol.workStream(s.queue())
                        + " is at its hard limit (max_msgs) and stayed there for the acquire timeout:"
                        + " a publisher is ignoring credits, or the limit is below the window"));
          } else {
            result.completeExceptionally(
                new PublishException(
                    "publish to queue "
                        + s.queue()
                        + " failed after "
                        + (tries + 1)
                        + " tries: "
                        + cause,
                    cause));
          }
        });
  }

  /** The JetStream or I/O error inside the wrappers jnats and CompletableFuture add. */
  private static Throwable rootCause(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException || c.getClass() == RuntimeException.class)
        && c.getCause() != null
        && c.getCause() != c) {
      c = c.getCause();
    }
    return c;
  }

  private void checkVersion(OutgoingMessage m) {
    if (s.versionPolicy() == VersionPolicy.ALLOW) {
      return;
    }
    // A type and version that live workers handled a moment ago need no new look at the adverts:
    // the check runs on every send, the adverts change every heartbeat.
    String key = m.type() + "@" + m.version();
    Long until = versionOk.get(key);
    long nowNanos = System.nanoTime();
    if (until != null && until > nowNanos) {
      return;
    }
    if (versionHandled(m)) {
      versionOk.put(key, nowNanos + 500_000_000L);
      return;
    }
    versionOk.remove(key);
    unsupported(m);
  }

  private boolean versionHandled(OutgoingMessage m) {
    long now = System.currentTimeMillis();
    List<CapacityAdvert> live = adverts.values().stream().filter(a -> Window.live(a, now)).toList();
    if (live.isEmpty()) {
      return true; // nothing to check against: the send waits for credits
    }
    for (CapacityAdvert a : live) {
      for (HandledType t : a.getHandledList()) {
        if (t.getType().equals(m.type())
            && t.getMinVersion() <= m.version()
            && m.version() <= t.getMaxVersion()) {
          return true;
        }
      }
    }
    return false;
  }

  private void unsupported(OutgoingMessage m) {
    long now = System.currentTimeMillis();
    List<CapacityAdvert> live = adverts.values().stream().filter(a -> Window.live(a, now)).toList();
    String handled =
        live.stream()
            .flatMap(a -> a.getHandledList().stream())
            .map(t -> t.getType() + "@" + t.getMinVersion() + "-" + t.getMaxVersion())
            .distinct()
            .sorted()
            .collect(Collectors.joining(", "));
    String msg =
        "no live worker of queue "
            + s.queue()
            + " handles "
            + m.type()
            + " version "
            + m.version()
            + "; the "
            + live.size()
            + " live worker(s) handle: ["
            + handled
            + "]. Deploy workers that handle it first, or set VersionPolicy.WARN/ALLOW.";
    if (s.versionPolicy() == VersionPolicy.FAIL) {
      throw new UnsupportedVersionException(msg);
    }
    if (warnedVersions.add(m.type() + "@" + m.version())) {
      LOG.warn(msg);
    }
  }

  // --------------------------------------------------------------------------------- acquiring

  private void slotLoop() {
    JetStreamSubscription sub = null;
    while (running) {
      try {
        synchronized (lock) {
          while (running && !needPull()) {
            lock.wait(200);
          }
          if (!running) {
            break;
          }
          activePulls++;
        }
        List<Message> got = List.of();
        try {
          if (sub == null) {
            sub =
                js.subscribe(
                    null,
                    PullSubscribeOptions.bind(
                        Protocol.CREDIT_STREAM, Protocol.creditConsumer(s.queue())));
          }
          got = sub.fetch(1, s.pullExpiry());
        } finally {
          List<Runnable> after = new ArrayList<>();
          synchronized (lock) {
            activePulls--;
            for (Message m : got) {
              if (!m.isJetStream()) {
                continue;
              }
              long v = Credits.tokenValue(m.getSubject());
              if (v <= 0) {
                LOG.warn("dropping malformed credit token on {}", m.getSubject());
                m.term();
                continue;
              }
              if (!running) {
                m.nak();
                continue;
              }
              held.add(new Held(m, (int) v));
            }
            serveWaiters(after);
          }
          after.forEach(Runnable::run);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        if (running) {
          LOG.warn("credit pull for queue {} failed: {}; retrying", s.queue(), e.toString());
          sub = null;
          try {
            Thread.sleep(250);
          } catch (InterruptedException ie) {
            return;
          }
        }
      }
    }
    if (sub != null) {
      try {
        sub.unsubscribe();
      } catch (RuntimeException ignored) {
        // closing
      }
    }
  }

  /** Pull while waiters outnumber unspent credits, at most one pull per waiter. Under lock. */
  private boolean needPull() {
    long uncovered = waiters.size() - unspentLocked();
    return uncovered > 0 && activePulls < Math.min(s.prefetch(), uncovered);
  }

  private long unspentLocked() {
    long n = 0;
    for (Held h : held) {
      n += h.unspent();
    }
    return n;
  }

  // ------------------------------------------------------------------------ holding and report

  private void tick() {
    try {
      tickUnsafe();
    } catch (Exception e) {
      LOG.warn("producer {} housekeeping failed: {}", s.producerId(), e.toString());
    }
  }

  /**
   * With no live advert in view, the adverts watch may have stopped (a server restart can lose its
   * consumer); watch anew now and then, off the timer thread.
   */
  private void refreshAdvertsIfEmpty() {
    long now = System.currentTimeMillis();
    if (now - lastRewatchMs < 5_000
        || adverts.values().stream().anyMatch(a -> Window.live(a, now))) {
      return;
    }
    lastRewatchMs = now;
    CompletableFuture.runAsync(adverts::rewatch);
  }

  private void tickUnsafe() throws Exception {
    if (running) {
      refreshAdvertsIfEmpty();
    }
    List<Held> toAck = new ArrayList<>();
    List<Held> toReturn = new ArrayList<>();
    List<Waiter> expired = new ArrayList<>();
    boolean extend;
    long now = System.nanoTime();
    ProducerReport report;
    synchronized (lock) {
      settlePending = false;
      for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
        Waiter w = it.next();
        if (now > w.deadline || w.future.isDone()) {
          it.remove();
          expired.add(w);
        }
      }
      for (Iterator<Held> it = held.iterator(); it.hasNext(); ) {
        Held h = it.next();
        if (h.inFlight > 0) {
          continue;
        }
        if (h.unspent() == 0) {
          toAck.add(h);
          it.remove();
        } else if (!running || (waiters.isEmpty() && now - h.lastUsed > s.idleReturn().toNanos())) {
          toReturn.add(h);
          it.remove();
        }
      }
      extend = now - lastLeaseExtend > lease.toNanos() / 3;
      if (extend) {
        lastLeaseExtend = now;
      }
      report = reportLocked();
    }
    for (Waiter w : expired) {
      w.future.completeExceptionally(timeoutException());
    }
    // Returning a partly spent token: mint the unspent rest first (T over-counts for a moment,
    // the safe side), report without it, then ack it.
    for (Held h : toReturn) {
      if (h.spent == 0) {
        continue;
      }
      minter.mint(h.unspent(), tokenBatch, MintReason.MINT_REASON_RETURN);
    }
    boolean anything =
        !toAck.isEmpty()
            || !toReturn.isEmpty()
            || report.getHeldSpent() > 0
            || report.getHeldUnspent() > 0
            || report.getWaiting() > 0;
    if (anything || lastReportNonEmpty) {
      try {
        writeReport(report);
      } catch (IOException | JetStreamApiException | RuntimeException e) {
        // Not reported, so not acked: keep holding them and try again next tick.
        synchronized (lock) {
          held.addAll(toAck);
          toReturn.stream().filter(h -> h.spent == 0).forEach(held::add);
        }
        throw e;
      }
      lastReportNonEmpty = anything;
    }
    for (Held h : toAck) {
      h.msg.ack();
    }
    for (Held h : toReturn) {
      if (h.spent == 0) {
        h.msg.nak();
      } else {
        h.msg.ack();
      }
    }
    if (extend) {
      List<Held> snapshot;
      synchronized (lock) {
        snapshot = List.copyOf(held);
      }
      for (Held h : snapshot) {
        h.msg.inProgress();
      }
    }
  }

  private ProducerReport reportLocked() {
    int spent = 0;
    int unspent = 0;
    for (Held h : held) {
      spent += h.spent;
      unspent += h.unspent();
    }
    return ProducerReport.newBuilder()
        .setProducerId(s.producerId())
        .setQueue(s.queue())
        .setHeldSpent(spent)
        .setHeldUnspent(unspent)
        .setWaiting(waiters.size())
        .setHeartbeatUnixMs(System.currentTimeMillis())
        .setTtlMs((int) s.reportTtl().toMillis())
        .setLanguage("java")
        .setSentTotal(sent.get())
        .build();
  }

  private void writeReport(ProducerReport r) throws IOException, JetStreamApiException {
    control.put(Protocol.producerKey(s.queue(), s.producerId()), r.toByteArray());
  }

  private CreditTimeoutException timeoutException() {
    long now = System.currentTimeMillis();
    List<CapacityAdvert> live = adverts.values().stream().filter(a -> Window.live(a, now)).toList();
    if (hitHardLimit) {
      return new CreditTimeoutException(
          CreditTimeoutException.Reason.STREAM_AT_HARD_LIMIT,
          "queue " + s.queue() + ": the work stream is at its hard limit (max_msgs)");
    }
    if (live.isEmpty()) {
      return new CreditTimeoutException(
          CreditTimeoutException.Reason.NO_LIVE_WORKERS,
          "no credit for queue "
              + s.queue()
              + " within "
              + s.acquireTimeout()
              + ": no live workers advertise capacity for queue "
              + s.queue()
              + (standingBuffer > 0
                  ? " and its standing buffer of " + standingBuffer + " is in use"
                  : " and it has no standing buffer")
              + ". Start a worker for the queue (or provision a standing buffer).");
    }
    long window = Window.window(standingBuffer, live, now);
    if (window == 0) {
      return new CreditTimeoutException(
          CreditTimeoutException.Reason.NO_LIVE_WORKERS,
          "no credit for queue "
              + s.queue()
              + " within "
              + s.acquireTimeout()
              + ": "
              + live.size()
              + " worker(s) are live but none advertises capacity (circuit open, draining, or"
              + " failing): check the workers' health and logs");
    }
    return new CreditTimeoutException(
        CreditTimeoutException.Reason.ALL_CREDITS_IN_USE,
        "no credit for queue "
            + s.queue()
            + " within "
            + s.acquireTimeout()
            + ": all "
            + window
            + " credits of the window ("
            + live.size()
            + " live worker(s)) are in the backlog or held by producers. The workers are slower"
            + " than the producers: add workers, raise their capacity, or wait longer.");
  }

  public long heldUnspent() {
    synchronized (lock) {
      return unspentLocked();
    }
  }

  public int waitingCount() {
    synchronized (lock) {
      return waiters.size();
    }
  }

  public long sentTotal() {
    return sent.get();
  }

  public String producerId() {
    return s.producerId();
  }

  /** Stops acquiring, fails waiters, returns every held token and deletes the report. */
  @Override
  public void close() {
    if (!running) {
      return;
    }
    running = false;
    synchronized (lock) {
      lock.notifyAll();
    }
    for (Thread t : slots) {
      try {
        t.join(s.pullExpiry().toMillis() + 2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    long until = System.nanoTime() + s.publishTimeout().toNanos() * 2;
    while (System.nanoTime() < until) {
      synchronized (lock) {
        if (held.stream().allMatch(h -> h.inFlight == 0)) {
          break;
        }
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    List<Waiter> left;
    synchronized (lock) {
      left = new ArrayList<>(waiters);
      waiters.clear();
    }
    for (Waiter w : left) {
      w.future.completeExceptionally(new SluiceException("producer " + s.producerId() + " closed"));
    }
    timer.shutdown();
    try {
      timer.awaitTermination(5, TimeUnit.SECONDS);
      tickUnsafe(); // returns every held token: running is false
      control.delete(Protocol.producerKey(s.queue(), s.producerId()));
    } catch (Exception e) {
      LOG.warn(
          "producer {} could not return its credits cleanly ({}); the lease and the reconciler will",
          s.producerId(),
          e.toString());
    }
    adverts.close();
  }
}
