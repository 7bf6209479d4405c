package dev.sluice.internal.worker;

import dev.failsafe.CircuitBreaker;
import dev.sluice.DeadLetterReason;
import dev.sluice.Health;
import dev.sluice.RejectMessageException;
import dev.sluice.SluiceException;
import dev.sluice.Upcaster;
import dev.sluice.internal.credit.Acks;
import dev.sluice.internal.credit.QueueConfig;
import dev.sluice.internal.credit.Reconciler;
import dev.sluice.internal.credit.Replenisher;
import dev.sluice.internal.credit.TokenMinter;
import dev.sluice.internal.nats.KvBoard;
import dev.sluice.internal.nats.StartupErrors;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.HandledType;
import dev.sluice.internal.proto.ProducerReport;
import dev.sluice.internal.proto.WorkerState;
import dev.sluice.internal.telemetry.Tracing;
import dev.sluice.internal.wire.Classifier;
import dev.sluice.internal.wire.DeadLetters;
import dev.sluice.internal.wire.HandledTypes;
import dev.sluice.internal.wire.HeaderCheck;
import dev.sluice.internal.wire.IdKeys;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.wire.TraceContext;
import dev.sluice.spi.Middleware;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamSubscription;
import io.nats.client.KeyValue;
import io.nats.client.Message;
import io.nats.client.PublishOptions;
import io.nats.client.PullRequestOptions;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsJetStreamMetaData;
import io.nats.client.impl.NatsMessage;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The worker runtime (protocol §7): pulls with bounded in-flight, settles each delivery with
 * exactly one outcome, replenishes credits, advertises capacity, and takes part in the reconciler
 * election. The runner alone acks; handlers and middleware never do. Thread-safe.
 */
public final class WorkerEngine implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerEngine.class);
  private static final Duration CONFIRM_TIMEOUT = Duration.ofSeconds(5);

  private final Connection nc;
  private final JetStream js;
  private final JetStreamManagement jsm;
  private final KeyValue capacityKv;
  private final WorkerSettings s;
  private final String stream;
  private final Duration ackWait;
  private final int tokenBatch;
  private final Classifier.Handles handles;
  private final ScheduledExecutorService scheduler;
  private final ScheduledExecutorService minterThread;
  private final ScheduledExecutorService reconcilerThread;
  private final Replenisher replenisher;
  private final Reconciler reconciler;
  private final KvBoard<CapacityAdvert> adverts;
  private final KvBoard<ProducerReport> reports;
  private final Semaphore slots;
  // Long enough that an idle worker renews its pull (and jnats logs a 408) rarely.
  private static final Duration PULL_EXPIRY = Duration.ofSeconds(5);
  private final Set<Message> inFlight = ConcurrentHashMap.newKeySet();
  private final AtomicInteger inFlightCount = new AtomicInteger();
  private final AtomicLong processed = new AtomicLong();
  private final AtomicLong deadLettered = new AtomicLong();
  private final AtomicLong duplicates = new AtomicLong();
  private final AtomicLong retried = new AtomicLong();
  private final Set<Running> handlersRunning = ConcurrentHashMap.newKeySet();
  private final Object ackLock = new Object();
  private long finishesSent;
  private Message lastFinished;
  private final CircuitBreaker<Object> breaker;
  private final Middleware.Invocation chain;
  private final Thread puller;
  private volatile boolean running = true;
  private volatile boolean draining;
  private volatile String problem = "";
  private volatile double rate;
  private long lastCompleted;
  private long boardMissingSince;
  private long lastRateNanos = System.nanoTime();

  public WorkerEngine(Connection nc, WorkerSettings settings) {
    this.nc = nc;
    this.s = settings;
    this.stream = Protocol.workStream(s.queue());
    try {
      this.js = nc.jetStream();
      this.jsm = nc.jetStreamManagement();
      this.ackWait =
          jsm.getConsumerInfo(stream, Protocol.WORKER_CONSUMER)
              .getConsumerConfiguration()
              .getAckWait();
      jsm.getStreamInfo(Protocol.CREDIT_STREAM);
      jsm.getStreamInfo(Protocol.DLQ_STREAM);
      this.capacityKv = nc.keyValue(Protocol.CAPACITY_BUCKET);
      this.tokenBatch =
          QueueConfig.read(nc.keyValue(Protocol.CONTROL_BUCKET), s.queue()).tokenBatch();
      this.adverts =
          new KvBoard<>(nc, Protocol.CAPACITY_BUCKET, s.queue() + ".*", CapacityAdvert::parseFrom);
      this.reports =
          new KvBoard<>(
              nc,
              Protocol.CONTROL_BUCKET,
              "producer." + s.queue() + ".*",
              ProducerReport::parseFrom);
    } catch (JetStreamApiException | IOException | InterruptedException e) {
      throw StartupErrors.of(s.queue(), "worker", e);
    }
    this.handles = new HandledTypes(s.handlers(), s.upcasters());
    // In hand at most concurrency + prefetch: running handlers plus messages queued for them.
    this.slots = new Semaphore(s.concurrency() + s.prefetch());
    this.scheduler = Executors.newScheduledThreadPool(2, r -> daemon(r, "sluice-worker-timer"));
    this.minterThread = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "sluice-minter"));
    this.reconcilerThread =
        Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "sluice-reconciler"));
    TokenMinter minter = new TokenMinter(js, s.queue(), s.workerId());
    this.replenisher =
        new Replenisher(
            minter,
            tokenBatch,
            minterThread,
            () -> rate,
            this::capacityForCarry,
            this::confirmSent);
    try {
      this.reconciler =
          new Reconciler(nc, s.queue(), s.workerId(), s.auditInterval(), adverts, reports, minter);
    } catch (IOException e) {
      throw new SluiceException("cannot start the reconciler: " + e, e);
    }
    this.breaker =
        CircuitBreaker.builder()
            .withFailureThreshold(s.breakerFailures(), s.breakerWindow())
            .withDelay(s.breakerDelay())
            .withSuccessThreshold(1)
            .onOpen(
                e ->
                    LOG.warn(
                        "queue {}: circuit opened: the handler fails for most messages; "
                            + "pausing and advertising zero capacity",
                        s.queue()))
            .onClose(e -> LOG.info("queue {}: circuit closed: resuming", s.queue()))
            .build();
    this.chain = buildChain();
    s.metrics().gauge("sluice.worker.inflight", s.queue(), inFlightCount::get);
    s.metrics().gauge("sluice.queue.window", s.queue(), () -> ledgerValue(true));
    s.metrics().gauge("sluice.queue.backlog", s.queue(), () -> ledgerValue(false));
    advertise();
    long sweepEvery = Math.max(10, Math.min(100, ackWait.toMillis() / 6));
    scheduler.scheduleWithFixedDelay(this::sweep, sweepEvery, sweepEvery, TimeUnit.MILLISECONDS);
    long hb = s.heartbeat().toMillis();
    scheduler.scheduleWithFixedDelay(this::heartbeat, hb, hb, TimeUnit.MILLISECONDS);
    if (s.reconciler()) {
      long audit = s.auditInterval().toMillis();
      reconcilerThread.scheduleWithFixedDelay(
          reconciler::tick, audit / 2, audit, TimeUnit.MILLISECONDS);
    }
    this.puller = daemon(this::pullLoop, "sluice-worker-" + s.workerId() + "-pull");
    puller.start();
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  private Middleware.Invocation buildChain() {
    Middleware.Invocation core =
        ctx -> {
          DeliveryContext dc = (DeliveryContext) ctx;
          invokeHandler(dc);
        };
    List<Middleware> mws = s.middleware();
    for (int i = mws.size() - 1; i >= 0; i--) {
      Middleware mw = mws.get(i);
      core = mw.wrap(core);
      if (core == null) {
        throw new IllegalStateException("middleware " + mw + " returned null from wrap()");
      }
    }
    return core;
  }

  @SuppressWarnings("unchecked")
  private void invokeHandler(DeliveryContext dc) throws Exception {
    var reg =
        (WorkerSettings.Registration<Object>)
            s.handlers().get(dc.type()).get(((Decoded) dc.value).version);
    reg.handler().handle(((Decoded) dc.value).value, dc);
  }

  /** A handler at work: the sweeper extends its ack deadline and enforces its timeout. */
  private static final class Running {
    final Message msg;
    final Thread thread;
    final long start = System.nanoTime();
    long lastProgress = start;
    boolean done;
    volatile boolean timedOut;

    Running(Message msg, Thread thread) {
      this.msg = msg;
      this.thread = thread;
    }
  }

  /**
   * One periodic sweep instead of two timers per message: AckProgress every ack wait / 3 for
   * handlers still running, and an interrupt for handlers past their timeout.
   */
  private void sweep() {
    long now = System.nanoTime();
    long progressEvery = ackWait.toNanos() / 3;
    for (Running r : handlersRunning) {
      synchronized (r) {
        if (r.done) {
          continue;
        }
        if (now - r.lastProgress >= progressEvery) {
          r.lastProgress = now;
          r.msg.inProgress();
        }
        if (!r.timedOut && now - r.start >= s.handlerTimeout().toNanos()) {
          r.timedOut = true;
          r.thread.interrupt();
        }
      }
    }
  }

  /** A payload decoded at the version its handler expects. */
  private record Decoded(int version, Object value) {}

  // ---------------------------------------------------------------------------------- pulling

  /** One outstanding pull request: how many messages it may still bring, until when. */
  private static final class Pull {
    int remaining;
    final long expiresAt;

    Pull(int remaining, long expiresAt) {
      this.remaining = remaining;
      this.expiresAt = expiresAt;
    }
  }

  private void pullLoop() {
    JetStreamSubscription sub = null;
    java.util.ArrayDeque<Pull> pulls = new java.util.ArrayDeque<>();
    long lastCheck = System.nanoTime();
    boolean wasOpen = false;
    while (running) {
      try {
        if (sub == null) {
          jsm.getConsumerInfo(stream, Protocol.WORKER_CONSUMER); // a clear error if it is missing
          sub = js.subscribe(null, PullSubscribeOptions.bind(stream, Protocol.WORKER_CONSUMER));
          pulls.clear();
          if (!problem.isEmpty()) {
            LOG.info("queue {}: consuming again", s.queue());
            problem = "";
            advertise();
          }
        }
        boolean open = breaker.isOpen() || breaker.isHalfOpen();
        if (open != wasOpen) {
          wasOpen = open;
          advertise();
        }
        long now = System.nanoTime();
        while (!pulls.isEmpty() && (pulls.peek().expiresAt < now || pulls.peek().remaining <= 0)) {
          pulls.poll();
        }
        int outstanding = pulls.stream().mapToInt(x -> x.remaining).sum();
        int want;
        if (open) {
          // Circuit open: pull nothing until the breaker allows one probe.
          want = outstanding == 0 && inFlightCount.get() == 0 && breaker.tryAcquirePermit() ? 1 : 0;
        } else {
          want = slots.availablePermits() - outstanding;
        }
        if (want > 0 && (outstanding == 0 || want >= Math.max(1, s.prefetch() / 2))) {
          sub.pull(PullRequestOptions.builder(want).expiresIn(PULL_EXPIRY).build());
          pulls.add(new Pull(want, now + PULL_EXPIRY.toNanos() + 50_000_000L));
        } else if (!open && outstanding == 0) {
          // Every slot is taken: wake as soon as one frees, not on a poll interval.
          if (slots.tryAcquire(100, TimeUnit.MILLISECONDS)) {
            slots.release();
          }
          continue;
        }
        Message m = sub.nextMessage(Duration.ofMillis(open ? 200 : 50));
        if (m == null || !m.isJetStream()) {
          if (System.nanoTime() - lastCheck > 3_000_000_000L) {
            lastCheck = System.nanoTime();
            jsm.getConsumerInfo(stream, Protocol.WORKER_CONSUMER); // still there?
            String denied = deniedPull();
            if (denied != null && !denied.equals(problem)) {
              LOG.error("queue {}: cannot consume: {}", s.queue(), denied);
              problem = denied;
              advertise();
            }
          }
          continue;
        }
        if (!problem.isEmpty()) {
          problem = "";
          advertise();
        }
        lastCheck = System.nanoTime();
        Pull head = pulls.peek();
        if (head != null) {
          head.remaining--;
        }
        slots.acquire();
        dispatch(m);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } catch (Exception e) {
        if (!running) {
          break;
        }
        String why = describe(e);
        if (!why.equals(problem)) {
          LOG.error("queue {}: cannot consume: {}", s.queue(), why);
          problem = why;
          advertise();
        }
        if (sub != null) {
          try {
            sub.unsubscribe();
          } catch (RuntimeException ignored) {
            // already broken
          }
          sub = null;
        }
        sleepQuietly(2000); // no hot loop while the stream, consumer or server is missing
      }
    }
    if (sub != null) {
      try {
        sub.unsubscribe();
      } catch (RuntimeException ignored) {
        // the connection may be closed
      }
    }
  }

  /**
   * A pull request the server refused shows only as the connection's last error (a permissions
   * violation is reported asynchronously); name it instead of waiting forever.
   */
  private String deniedPull() {
    String last = nc.getLastError();
    if (last != null
        && last.contains("Permissions Violation")
        && last.contains("CONSUMER.MSG.NEXT." + stream)) {
      return "permission denied: the server refused this worker's pull requests ("
          + last.trim()
          + "); allow publishing to $JS.API.CONSUMER.MSG.NEXT."
          + stream
          + ".workers for this user";
    }
    return null;
  }

  private String describe(Exception e) {
    if (e instanceof JetStreamApiException jse) {
      if (jse.getApiErrorCode() == 10014) {
        return "consumer "
            + Protocol.WORKER_CONSUMER
            + " on stream "
            + stream
            + " does not exist (deleted?): re-provision the queue (scripts/sluice apply)";
      }
      if (jse.getApiErrorCode() == 10059) {
        return "stream " + stream + " does not exist (deleted?): re-provision the queue";
      }
    }
    String msg = String.valueOf(e.getMessage());
    if (msg.contains("Consumer Deleted")) {
      return "consumer "
          + Protocol.WORKER_CONSUMER
          + " on stream "
          + stream
          + " does not exist any more (it, or its stream, was deleted): re-provision the queue"
          + " (scripts/sluice apply)";
    }
    if (msg.toLowerCase().contains("permission")) {
      return "permission denied on " + stream + ": " + msg + " (check the account's permissions)";
    }
    return e.getClass().getSimpleName() + ": " + msg;
  }

  private void dispatch(Message m) {
    inFlight.add(m);
    inFlightCount.incrementAndGet();
    try {
      s.executor()
          .execute(
              () -> {
                try {
                  process(m);
                } finally {
                  inFlight.remove(m);
                  inFlightCount.decrementAndGet();
                  slots.release();
                }
              });
    } catch (RejectedExecutionException e) {
      inFlight.remove(m);
      inFlightCount.decrementAndGet();
      slots.release();
      m.nak();
    }
  }

  // -------------------------------------------------------------------------------- processing

  private void process(Message m) {
    NatsJetStreamMetaData meta = m.metaData();
    long k = meta.deliveredCount();
    Headers h = m.getHeaders();
    byte[] data = m.getData() == null ? new byte[0] : m.getData();
    HeaderCheck.Result hc = HeaderCheck.check(h);
    String storeKey = hc.valid() ? IdKeys.storeKey(s.queue(), hc.msgId()) : null;
    long ageMs = System.currentTimeMillis() - meta.timestamp().toInstant().toEpochMilli();
    Classifier.Decision d;
    try {
      boolean processedBefore = storeKey != null && s.idempotency().isProcessed(storeKey);
      d =
          Classifier.beforeHandler(
              hc,
              data.length,
              k,
              ageMs,
              processedBefore,
              handles,
              HandledTypes.fleet(adverts::values, s.workerId(), hc),
              s.limits());
    } catch (RuntimeException e) {
      // The shared store is unreachable: retry later rather than risk running twice.
      nak(m, Duration.ofSeconds(1), "idempotency store: " + e.getMessage());
      return;
    }
    TraceContext parent = TraceContext.parse(HeaderCheck.first(h, Protocol.H_TRACEPARENT));
    Tracing.HandlerSpan hs = Tracing.startHandler(parent, s.queue(), hc.valid() ? hc.msgId() : "?");
    TraceContext span = hs.context();
    MDC.put("sluice.queue", s.queue());
    MDC.put("sluice.msgId", hc.valid() ? hc.msgId() : "?");
    MDC.put("traceId", span.traceId());
    MDC.put("spanId", span.spanId());
    try {
      if (d instanceof Classifier.DeadLetter dl) {
        deadLetter(m, meta, dl.reason(), dl.error());
      } else if (d instanceof Classifier.AckDuplicate) {
        duplicates.incrementAndGet();
        finish(m);
      } else if (d instanceof Classifier.Nak nak) {
        nak(m, nak.delay(), nak.why());
      } else {
        run(m, meta, hc, h, data, span, hs);
      }
    } finally {
      hs.close();
      MDC.remove("sluice.queue");
      MDC.remove("sluice.msgId");
      MDC.remove("traceId");
      MDC.remove("spanId");
    }
  }

  private void run(
      Message m,
      NatsJetStreamMetaData meta,
      HeaderCheck.Result hc,
      Headers h,
      byte[] data,
      TraceContext span,
      Tracing.HandlerSpan hs) {
    long k = meta.deliveredCount();
    Decoded value;
    try {
      value = decode(hc.type(), hc.version(), data);
    } catch (Exception e) {
      deadLetter(
          m,
          meta,
          DeadLetterReason.DECODE_ERROR,
          "cannot decode " + hc.type() + " v" + hc.version() + ": " + e);
      return;
    }
    DeliveryContext ctx =
        new DeliveryContext(
            s.queue(),
            s.workerId(),
            hc.msgId(),
            k,
            hc.type(),
            hc.version(),
            meta.streamSequence(),
            span,
            h,
            data);
    ctx.value = value;
    Running r = new Running(m, Thread.currentThread());
    handlersRunning.add(r);
    long start = System.nanoTime();
    Throwable failure = null;
    try {
      chain.proceed(ctx);
    } catch (Throwable t) {
      failure = t;
    } finally {
      synchronized (r) {
        r.done = true;
      }
      handlersRunning.remove(r);
      Thread.interrupted(); // clear a watchdog interrupt that came as the handler returned
    }
    boolean timedOut = r.timedOut;
    hs.end(failure);
    s.metrics().timeNanos("sluice.worker.handler", s.queue(), System.nanoTime() - start);
    if (timedOut && failure == null) {
      failure = new java.util.concurrent.TimeoutException("handler ran past " + s.handlerTimeout());
    } else if (timedOut) {
      failure =
          new java.util.concurrent.TimeoutException(
              "handler timed out after " + s.handlerTimeout() + " (" + failure + ")");
    }
    if (failure == null) {
      breaker.recordSuccess();
      String storeKey = IdKeys.storeKey(s.queue(), hc.msgId());
      boolean first;
      try {
        first = s.idempotency().markProcessed(storeKey, s.workerId());
      } catch (RuntimeException e) {
        LOG.warn("could not record {} as processed: {}", hc.msgId(), e.toString());
        first = true;
      }
      if (!first) {
        duplicates.incrementAndGet(); // a late completion: another delivery finished it first
      } else {
        processed.incrementAndGet();
        s.metrics().count("sluice.worker.processed", s.queue(), null, null);
      }
      finish(m);
      return;
    }
    boolean rejected = failure instanceof RejectMessageException;
    if (!rejected) {
      breaker.recordFailure();
    }
    String error = failure.getClass().getSimpleName() + ": " + failure.getMessage();
    Classifier.Decision d = Classifier.afterFailure(k, rejected, error, s.backoff(), s.limits());
    if (d instanceof Classifier.DeadLetter dl) {
      deadLetter(m, meta, dl.reason(), dl.error());
    } else {
      Classifier.Nak nak = (Classifier.Nak) d;
      LOG.debug("attempt {} of {} failed ({}); retrying in {}", k, hc.msgId(), error, nak.delay());
      retried.incrementAndGet();
      s.metrics().count("sluice.worker.retried", s.queue(), null, null);
      nak(m, nak.delay(), "retry");
    }
  }

  private Decoded decode(String type, int version, byte[] data) throws Exception {
    Map<Integer, WorkerSettings.Registration<?>> byVersion = s.handlers().get(type);
    byte[] bytes = data;
    int v = version;
    while (!byVersion.containsKey(v)) {
      Upcaster up = s.upcasters().getOrDefault(type, Map.of()).get(v);
      if (up == null) {
        throw new IllegalStateException("no handler or upcaster for " + type + " v" + v);
      }
      bytes = up.upcast(bytes);
      v++;
    }
    return new Decoded(v, byVersion.get(v).codec().decode(bytes));
  }

  /** A finishing ack, confirmed by the server, then one credit owed. */
  /** A finishing ack; its credit is minted after the next double ack confirms it (§5.4). */
  private void finish(Message m) {
    finishWith(m, false);
  }

  private void finishWith(Message m, boolean term) {
    synchronized (ackLock) {
      // Sent in order on this connection, so a later double ack confirms this one too.
      if (term) {
        m.term();
      } else {
        m.ack();
      }
      finishesSent++;
      lastFinished = m;
    }
    replenisher.finished();
  }

  /** The double ack: an ack with a reply on the last finished message, awaited. */
  private long confirmSent() throws Exception {
    Message last;
    long sent;
    synchronized (ackLock) {
      last = lastFinished;
      sent = finishesSent;
    }
    if (last != null) {
      Acks.confirmAsync(nc, last, Acks.ACK, CONFIRM_TIMEOUT).get();
    }
    return sent;
  }

  private void nak(Message m, Duration delay, String why) {
    try {
      m.nakWithDelay(delay);
    } catch (RuntimeException e) {
      LOG.warn("nak failed ({}): the message returns after the ack wait", e.toString());
    }
  }

  private void deadLetter(
      Message m, NatsJetStreamMetaData meta, DeadLetterReason reason, String error) {
    Headers record =
        DeadLetters.recordHeaders(
            m.getHeaders(),
            stream,
            meta.streamSequence(),
            m.getSubject(),
            meta.deliveredCount(),
            s.workerId(),
            System.currentTimeMillis(),
            reason,
            error);
    Message out =
        NatsMessage.builder()
            .subject(Protocol.dlqSubject(s.queue()))
            .headers(record)
            .data(m.getData() == null ? new byte[0] : m.getData())
            .build();
    try {
      // No expected-stream precondition: it would be stored in the record as a header.
      js.publish(out, PublishOptions.builder().streamTimeout(CONFIRM_TIMEOUT).build());
    } catch (Exception e) {
      // Not recorded, so not termed: the message comes back and the record is tried again.
      LOG.error(
          "dead-letter publish for stream seq {} failed: {}", meta.streamSequence(), e.toString());
      nak(m, Duration.ofSeconds(1), "dlq publish failed");
      return;
    }
    finishWith(m, true);
    deadLettered.incrementAndGet();
    s.metrics().count("sluice.worker.dead_lettered", s.queue(), "reason", reason.code());
    LOG.warn("dead-lettered stream seq {} ({}): {}", meta.streamSequence(), reason.code(), error);
  }

  // ----------------------------------------------------------------------------- advertising

  private void heartbeat() {
    try {
      long now = System.nanoTime();
      long completed = replenisher.completed();
      double dt = (now - lastRateNanos) / 1e9;
      if (dt > 0) {
        double inst = (completed - lastCompleted) / dt;
        rate = rate == 0 ? inst : 0.3 * inst + 0.7 * rate;
      }
      lastCompleted = completed;
      lastRateNanos = now;
      advertise();
      checkBoards();
    } catch (RuntimeException e) {
      LOG.warn("heartbeat failed: {}", e.toString());
    }
  }

  /**
   * This worker writes its own advert every heartbeat, so the adverts board must show it fresh.
   * When it does not, the board's watch has stopped (a server restart can lose its consumer): the
   * reconciler would read a window of 0. Watch both boards anew.
   */
  private void checkBoards() {
    CapacityAdvert own = adverts.get(Protocol.advertKey(s.queue(), s.workerId()));
    long staleAfter = 2 * s.advertTtl().toMillis();
    long now = System.currentTimeMillis();
    if (own == null) {
      if (boardMissingSince == 0) {
        boardMissingSince = now;
      }
    } else {
      boardMissingSince = 0;
    }
    boolean stale =
        own != null
            ? now - own.getHeartbeatUnixMs() > staleAfter
            : boardMissingSince != 0 && now - boardMissingSince > staleAfter;
    if (stale && running && !draining) {
      boardMissingSince = 0;
      LOG.info(
          "queue {}: the adverts watch went stale (own advert not seen); watching anew", s.queue());
      adverts.rewatch();
      reports.rewatch();
    }
  }

  private WorkerState state() {
    if (draining || !running) {
      return WorkerState.WORKER_STATE_DRAINING;
    }
    if (breaker.isOpen() || breaker.isHalfOpen()) {
      return WorkerState.WORKER_STATE_CIRCUIT_OPEN;
    }
    return WorkerState.WORKER_STATE_RUNNING;
  }

  /** The capacity the carry threshold is sized against (without the in-transit allowance). */
  private int capacityForCarry() {
    if (s.latencyTarget() == null) {
      return s.concurrency() + s.prefetch();
    }
    long c = s.concurrency() + (long) Math.ceil(rate * s.latencyTarget().toNanos() / 1e9);
    return (int) Math.max(s.concurrency(), Math.min(s.maxCapacity(), c));
  }

  /** Capacity: static, or from the latency target by Little's law (§5.2). */
  int capacity() {
    if (state() != WorkerState.WORKER_STATE_RUNNING || !problem.isEmpty()) {
      return 0;
    }
    if (s.latencyTarget() == null) {
      return s.concurrency() + s.prefetch();
    }
    // Credits in transit (owed carry, a token on its way or at a producer) are part of the window
    // but not of the backlog: two carry batches keep them from eating the queue-wait budget.
    long c =
        s.concurrency()
            + (long) Math.ceil(rate * s.latencyTarget().toNanos() / 1e9)
            + 2L * replenisher.effectiveBatch();
    return (int) Math.max(s.concurrency(), Math.min(s.maxCapacity(), c));
  }

  private void advertise() {
    CapacityAdvert.Builder b =
        CapacityAdvert.newBuilder()
            .setWorkerId(s.workerId())
            .setQueue(s.queue())
            .setProtocolVersion(Protocol.VERSION)
            .setCapacity(capacity())
            .setInFlight(inFlightCount.get())
            .setServiceRate(rate)
            .setHeartbeatUnixMs(System.currentTimeMillis())
            .setTtlMs((int) s.advertTtl().toMillis())
            .setState(state())
            .setOwedCredits((int) Math.min(Integer.MAX_VALUE, replenisher.owed()))
            .setLanguage("java")
            .setCompletedTotal(replenisher.completed())
            .setMintedTotal(replenisher.minted())
            .setTokenBatch(replenisher.effectiveBatch());
    for (var e : s.handlers().entrySet()) {
      int max = e.getValue().keySet().stream().mapToInt(Integer::intValue).max().orElse(1);
      int min = max;
      while (min > 1 && handles.handles(e.getKey(), min - 1)) {
        min--;
      }
      b.addHandled(
          HandledType.newBuilder().setType(e.getKey()).setMinVersion(min).setMaxVersion(max));
    }
    try {
      capacityKv.put(Protocol.advertKey(s.queue(), s.workerId()), b.build().toByteArray());
    } catch (Exception e) {
      LOG.warn("could not write the capacity advert: {}", e.toString());
    }
  }

  /**
   * Window or backlog from the last audit this process made (NaN when it is not the reconciler).
   */
  private double ledgerValue(boolean window) {
    var l = reconciler.lastLedger();
    if (l == null || !reconciler.isLeader()) {
      return Double.NaN;
    }
    return window ? l.getWindow() : l.getBacklog();
  }

  // ---------------------------------------------------------------------------------- status

  public Health health() {
    boolean live = puller.isAlive() || !running;
    String state;
    if (!running) {
      state = "STOPPED";
    } else if (draining) {
      state = "DRAINING";
    } else if (!problem.isEmpty()) {
      state = "FAILING";
    } else if (breaker.isOpen() || breaker.isHalfOpen()) {
      state = "CIRCUIT_OPEN";
    } else {
      state = "RUNNING";
    }
    return new Health(
        live,
        state.equals("RUNNING"),
        state,
        problem,
        inFlightCount.get(),
        processed.get(),
        deadLettered.get());
  }

  public long processedCount() {
    return processed.get();
  }

  public long duplicateCount() {
    return duplicates.get();
  }

  public long retriedCount() {
    return retried.get();
  }

  public long deadLetteredCount() {
    return deadLettered.get();
  }

  public boolean isReconciler() {
    return reconciler.isLeader();
  }

  public int advertisedCapacity() {
    return capacity();
  }

  public String workerId() {
    return s.workerId();
  }

  // -------------------------------------------------------------------------------- shutdown

  /**
   * Stops pulling, lets in-flight handlers finish until {@code grace}, NAKs the rest, mints owed
   * credits, and withdraws the advert.
   */
  @Override
  public void close() {
    if (!running) {
      return;
    }
    draining = true;
    advertise();
    running = false;
    try {
      puller.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    long until = System.nanoTime() + s.shutdownGrace().toNanos();
    while (inFlightCount.get() > 0 && System.nanoTime() < until) {
      sleepQuietly(10);
    }
    for (Message m : List.copyOf(inFlight)) {
      m.nak(); // its handler overran the grace period: someone else takes it now
    }
    reconcilerThread.shutdownNow();
    minterThread.shutdown();
    try {
      minterThread.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    replenisher.flushAll();
    scheduler.shutdownNow();
    try {
      capacityKv.delete(Protocol.advertKey(s.queue(), s.workerId()));
    } catch (Exception e) {
      LOG.warn("could not withdraw the capacity advert (it expires by itself): {}", e.toString());
    }
    adverts.close();
    reports.close();
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
