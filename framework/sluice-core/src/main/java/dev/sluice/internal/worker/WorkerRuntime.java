package dev.sluice.internal.worker;

import dev.sluice.Health;
import dev.sluice.SluiceException;
import dev.sluice.internal.credit.Debt;
import dev.sluice.internal.credit.QueueConfig;
import dev.sluice.internal.credit.RateGate;
import dev.sluice.internal.credit.Rates;
import dev.sluice.internal.credit.Reconciler;
import dev.sluice.internal.credit.Replenisher;
import dev.sluice.internal.credit.TokenMinter;
import dev.sluice.internal.nats.KvBoard;
import dev.sluice.internal.nats.StartupErrors;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.ProducerReport;
import dev.sluice.internal.wire.HandledTypes;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Message;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The worker runtime (protocol §7): wires the parts together at start and shuts them down once. See
 * the package documentation for the chain and for who owns which thread. Thread-safe.
 */
public final class WorkerRuntime implements AutoCloseable {
  private final WorkerSettings s;
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(WorkerRuntime.class);
  private final KvBoard<CapacityAdvert> adverts;
  private final io.nats.client.KeyValue controlKv;
  private final KvBoard<ProducerReport> reports;
  private final ScheduledExecutorService timer;
  private final ScheduledExecutorService minterThread;
  private final ScheduledExecutorService reconcilerThread;
  private final Replenisher replenisher;
  private final Reconciler reconciler;
  private final Settler settler;
  private final WorkerHealth health;
  private final Advertiser advertiser;
  private final Dispatcher dispatcher;
  private final Pushback pushback;
  private final Chain chain;
  private final Thread puller;
  private final AtomicBoolean closing = new AtomicBoolean();
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  private final AtomicInteger shutdownRuns = new AtomicInteger();

  /**
   * Checks the queue's topology, assembles the chain and starts pulling.
   *
   * @throws SluiceException if the queue is not provisioned or cannot be read
   * @throws IllegalStateException if a middleware breaks its contract at wrap time
   */
  public WorkerRuntime(Connection nc, WorkerSettings settings) {
    this.s = settings;
    // First, before any connection or thread: a middleware that breaks its contract fails here.
    HandlerStep handlerStep = new HandlerStep(s);
    String stream = Protocol.workStream(s.queue());
    JetStream js;
    Duration ackWait;
    io.nats.client.KeyValue capacityKv;
    int tokenBatch;
    QueueConfig queueConfig;
    try {
      js = nc.jetStream();
      JetStreamManagement jsm = nc.jetStreamManagement();
      ackWait =
          jsm.getConsumerInfo(stream, Protocol.WORKER_CONSUMER)
              .getConsumerConfiguration()
              .getAckWait();
      jsm.getStreamInfo(Protocol.CREDIT_STREAM);
      jsm.getStreamInfo(Protocol.DLQ_STREAM);
      capacityKv = nc.keyValue(Protocol.CAPACITY_BUCKET);
      this.controlKv = nc.keyValue(Protocol.CONTROL_BUCKET);
      queueConfig = QueueConfig.read(controlKv, s.queue());
      tokenBatch = queueConfig.tokenBatch();
      this.adverts =
          new KvBoard<>(nc, Protocol.CAPACITY_BUCKET, s.queue() + ".*", CapacityAdvert::parseFrom);
      this.reports =
          new KvBoard<>(
              nc,
              Protocol.CONTROL_BUCKET,
              "producer." + s.queue() + ".*",
              ProducerReport::parseFrom);
    } catch (JetStreamApiException | IOException | InterruptedException e) {
      throw StartupErrors.of(s.queue(), "worker", e, nc.getLastError());
    }
    HandledTypes handles = new HandledTypes(s.handlers(), s.upcasters());
    // In hand at most concurrency + prefetch: running handlers plus messages queued for them.
    Semaphore slots = new Semaphore(s.concurrency() + s.prefetch());
    this.timer = Executors.newScheduledThreadPool(2, r -> daemon(r, "sluice-worker-timer"));
    this.minterThread = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "sluice-minter"));
    this.reconcilerThread =
        Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "sluice-reconciler"));
    // The settler reports finishes to the replenisher, which asks the settler to confirm them.
    Replenisher[] replenisherRef = new Replenisher[1];
    BreakerStep breakerStep =
        s.breaker().enabled() ? new BreakerStep(s.queue(), s.breaker()) : null;
    BreakerState breaker = breakerStep != null ? breakerStep : BreakerState.NEVER_OPEN;
    this.health = new WorkerHealth(breaker);
    this.settler = new Settler(nc, js, s, health, () -> replenisherRef[0].finished());
    Dispatcher[] dispatcherRef = new Dispatcher[1];
    this.advertiser =
        new Advertiser(
            s, capacityKv, adverts, reports, handles, health, () -> dispatcherRef[0].inFlight());
    TokenMinter minter = new TokenMinter(js, s.queue(), s.workerId());
    this.replenisher =
        new Replenisher(
            minter,
            tokenBatch,
            minterThread,
            advertiser::rate,
            advertiser::capacityForCarry,
            settler,
            new Debt(s.workerId()));
    replenisherRef[0] = replenisher;
    advertiser.replenisher(replenisher);
    // §15.1 before §15.2: the rate share reads the advertised capacity, which pushback lowers.
    this.pushback = new Pushback(s, timer, ackWait);
    advertiser.pushback(pushback);
    // §15.2: this worker's share of the queue's rate, from the live adverts and its own capacity.
    int maxWorkerCapacity = queueConfig.maxWorkerCapacity();
    replenisher.rateGate(
        new RateGate(
            perSecond ->
                Rates.share(
                    perSecond,
                    s.workerId(),
                    advertiser.capacity(),
                    adverts.values(),
                    s.clock().millis(),
                    maxWorkerCapacity)));
    configureRate(queueConfig);
    try {
      this.reconciler =
          new Reconciler(
              nc,
              s.queue(),
              s.workerId(),
              s.reconciler() ? s.auditInterval() : Duration.ofSeconds(2),
              adverts,
              reports,
              minter,
              s.clock(),
              replenisher);
    } catch (IOException e) {
      throw new SluiceException("cannot start the reconciler: " + e, e);
    }
    Watchdog watchdog = new Watchdog(s.clock(), ackWait, s.handlerTimeout());
    this.chain = assemble(handles, breakerStep, watchdog, handlerStep, ackWait);
    this.dispatcher = new Dispatcher(s.executor(), chain, settler, slots, pushback, breaker);
    dispatcherRef[0] = dispatcher;
    pushback.wire(advertiser::nominalCapacity, settler::processed, dispatcher::inFlight);
    s.metricsOrNoop().gauge("sluice.worker.in.flight", dispatcher::inFlight);
    s.metricsOrNoop().gauge("sluice.worker.capacity", advertiser::capacity);
    s.metricsOrNoop().gauge("sluice.worker.capacity.nominal", advertiser::nominalCapacity);
    s.metricsOrNoop().gauge("sluice.queue.window", () -> ledgerValue(true));
    s.metricsOrNoop().gauge("sluice.queue.backlog", () -> ledgerValue(false));
    // §15.2: the rate in force, this worker's share of it, and the credits it holds back for it.
    s.metricsOrNoop().gauge("sluice.queue.rate.limit", () -> replenisher.rateGate().perSecond());
    s.metricsOrNoop().gauge("sluice.worker.rate.share", () -> replenisher.rateGate().share());
    s.metricsOrNoop().gauge("sluice.worker.rate.held", () -> replenisher.rateGate().held());
    PullLoop loop;
    try {
      loop =
          new PullLoop(
              nc,
              s,
              slots,
              breaker,
              health,
              this::advertise,
              dispatcher::inFlight,
              pushback::limit,
              dispatcher::dispatch);
    } catch (IOException e) {
      throw new SluiceException("cannot start pulling: " + e, e);
    }
    advertise();
    long sweep = Watchdog.sweepInterval(ackWait).toMillis();
    timer.scheduleWithFixedDelay(watchdog::sweep, sweep, sweep, TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(pushback::tick, sweep, sweep, TimeUnit.MILLISECONDS);
    long hb = s.heartbeat().toMillis();
    timer.scheduleWithFixedDelay(advertiser::heartbeat, hb, hb, TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(this::refreshRate, hb, hb, TimeUnit.MILLISECONDS);
    if (s.reconciler()) {
      long audit = s.auditInterval().toMillis();
      reconcilerThread.scheduleWithFixedDelay(
          reconciler::tick, audit / 2, audit, TimeUnit.MILLISECONDS);
    }
    this.puller = daemon(loop, "sluice-worker-" + s.workerId() + "-pull");
    puller.start();
  }

  /**
   * Re-reads the queue's rate limit (§15.2): a rate set, changed or removed later (by provisioning
   * or {@code sluice apply}) takes effect within a heartbeat. Never throws.
   */
  private void refreshRate() {
    try {
      configureRate(QueueConfig.read(controlKv, s.queue()));
    } catch (Exception e) {
      LOG.debug("queue {}: could not re-read the queue's settings: {}", s.queue(), e.toString());
    }
  }

  private void configureRate(QueueConfig qc) {
    RateGate gate = replenisher.rateGate();
    boolean was = gate.on();
    double before = gate.perSecond();
    long burstBefore = gate.burst();
    gate.configure(qc.ratePerSecond(), qc.rateBurst(), s.clock().nanos());
    if (gate.on() != was || gate.perSecond() != before || gate.burst() != burstBefore) {
      if (gate.on()) {
        LOG.info(
            "queue {}: rate-limited at {}/s (burst {}); this worker mints at most {}/s",
            s.queue(),
            qc.ratePerSecond(),
            qc.rateBurst(),
            String.format(java.util.Locale.ROOT, "%.1f", gate.share()));
      } else if (was) {
        LOG.info("queue {}: the rate limit was removed", s.queue());
      }
    }
  }

  /** The chain, from what is configured, in the order of the package documentation. */
  private Chain assemble(
      HandledTypes handles,
      BreakerStep breakerStep,
      Watchdog watchdog,
      HandlerStep handlerStep,
      Duration ackWait) {
    Fleets fleets = d -> HandledTypes.fleet(adverts::values, s.workerId(), d.hc);
    List<Step> steps = new ArrayList<>();
    steps.add(new ValidateStep(s.limits(), settler));
    steps.add(new DeliveryLimitStep(handles, fleets, s.limits(), settler));
    if (s.idempotency() != null) {
      steps.add(
          new DuplicateStep(
              s.queue(),
              s.workerId(),
              s.idempotency(),
              settler,
              health,
              timer,
              ackWait,
              s.ackUnrecordedAfter()));
    }
    steps.add(new GraceStep(fleets, s.limits(), s.clock(), settler));
    steps.add(new DecodeStep(s, settler));
    steps.add(new TraceStep(s.queue()));
    if (breakerStep != null) {
      steps.add(breakerStep);
    }
    steps.add(new TimeoutStep(watchdog, s.handlerTimeout()));
    if (s.metrics() != null) {
      steps.add(new MetricsStep(s.metrics()));
    }
    steps.add(handlerStep);
    return new Chain(steps);
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  private void advertise() {
    advertiser.advertise();
  }

  /** Window or backlog from this process's last audit (NaN when it is not the reconciler). */
  private double ledgerValue(boolean window) {
    var l = reconciler.lastLedger();
    if (l == null || !reconciler.isLeader()) {
      return Double.NaN;
    }
    return window ? l.getWindow() : l.getBacklog();
  }

  /** The worker's health now. */
  public Health health() {
    return health.health(
        puller.isAlive(), dispatcher.inFlight(), settler.processed(), settler.deadLettered());
  }

  /** Messages handled successfully. */
  public long processedCount() {
    return settler.processed();
  }

  /** Deliveries acked as duplicates. */
  public long duplicateCount() {
    return settler.duplicates();
  }

  /** Failed attempts NAKed for a retry. */
  public long retriedCount() {
    return settler.retried();
  }

  /** Messages dead-lettered. */
  public long deadLetteredCount() {
    return settler.deadLettered();
  }

  /** True while this worker holds the reconciler lease. */
  public boolean isReconciler() {
    return reconciler.isLeader();
  }

  /** The capacity advertised now. */
  public int advertisedCapacity() {
    return advertiser.capacity();
  }

  /** The capacity without pushback. */
  public int nominalCapacity() {
    return advertiser.nominalCapacity();
  }

  /** Pushbacks since start. */
  public long pushbackCount() {
    return pushback.pushbacks();
  }

  /** This worker's id. */
  public String workerId() {
    return s.workerId();
  }

  /** The chain's steps in order, by class name. */
  public List<String> steps() {
    return chain.names();
  }

  /** How many times the shutdown sequence ran (at most once, whatever the calls to close). */
  public int shutdownRuns() {
    return shutdownRuns.get();
  }

  /**
   * Stops pulling, lets in-flight handlers finish until the shutdown grace, NAKs the rest, mints
   * owed credits, and withdraws the advert. Runs once: concurrent and later calls wait for the
   * first to finish.
   */
  @Override
  public void close() {
    if (!closing.compareAndSet(false, true)) {
      closed.join();
      return;
    }
    try {
      shutdown();
    } finally {
      closed.complete(null);
    }
  }

  private void shutdown() {
    shutdownRuns.incrementAndGet();
    health.draining(true);
    advertise();
    health.stopped();
    try {
      puller.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    pushback.releaseHeld(dispatcher::release); // §15.1: a held message waits for no one
    long until = System.nanoTime() + s.shutdownGrace().toNanos();
    while (dispatcher.inFlight() > 0 && System.nanoTime() < until) {
      PullLoop.sleepQuietly(10);
    }
    for (Message m : dispatcher.inFlightMessages()) {
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
    timer.shutdownNow();
    advertiser.withdraw();
    adverts.close();
    reports.close();
    s.metricsOrNoop().close();
  }
}
