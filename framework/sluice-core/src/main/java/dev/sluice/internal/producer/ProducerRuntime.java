package dev.sluice.internal.producer;

import dev.sluice.MessageTooLargeException;
import dev.sluice.OutgoingMessage;
import dev.sluice.SendResult;
import dev.sluice.SluiceException;
import dev.sluice.UnsupportedVersionException;
import dev.sluice.internal.credit.FairnessWeights;
import dev.sluice.internal.credit.QueueConfig;
import dev.sluice.internal.credit.TokenWallet;
import dev.sluice.internal.credit.WalletPort;
import dev.sluice.internal.credit.Window;
import dev.sluice.internal.nats.KvBoard;
import dev.sluice.internal.nats.StartupErrors;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.FairnessKeyState;
import dev.sluice.internal.proto.ProducerReport;
import dev.sluice.internal.telemetry.Metrics;
import dev.sluice.internal.telemetry.Tracing;
import dev.sluice.internal.time.Clock;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.internal.wire.TraceContext;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.KeyValue;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One producer of one queue, wired from its parts: the {@link VersionGate} (§4.3), the {@link
 * TokenWallet} (§6.3, §6.4, §6.6, §6.7), the {@link CreditPuller} (§6.2) and the {@link Publisher}
 * (§6.4, §6.5); it writes the producer report (§6.1) and owns the timer thread. Thread-safe.
 */
public final class ProducerRuntime implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ProducerRuntime.class);

  /** How often the adverts are watched anew while none is live (a stale watch sees none). */
  private static final long REWATCH_EVERY_MS = 5_000;

  /** The most fairness keys one report lists (§15.3). */
  private static final int REPORTED_KEYS = 32;

  private final ProducerSettings s;
  private final Clock clock;
  private final Metrics metrics;
  private final KeyValue control;
  private final KvBoard<CapacityAdvert> adverts;
  private final int standingBuffer;
  private final ScheduledExecutorService timer;
  private final TokenWallet wallet;
  private final CreditPuller puller;
  private final Publisher publisher;
  private final VersionGate versions;
  private final SizeLimit sizeLimit;
  private final AtomicBoolean closing = new AtomicBoolean();
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  private volatile boolean running = true;
  private volatile long lastRewatchMs;

  /**
   * Connects to the queue's streams and buckets and starts pulling on demand.
   *
   * @throws dev.sluice.TopologyException when the queue is not provisioned or not readable
   */
  public ProducerRuntime(Connection nc, ProducerSettings settings) {
    this.s = settings;
    this.clock = settings.clock();
    this.metrics = settings.metrics();
    JetStream js;
    Duration lease;
    QueueConfig qc;
    Map<String, Integer> queueWeights;
    try {
      js = nc.jetStream();
      this.control = nc.keyValue(Protocol.CONTROL_BUCKET);
      var jsm = nc.jetStreamManagement();
      String stream = Protocol.workStream(s.queue());
      // Read once: a send that could never be stored is refused before it spends a credit.
      this.sizeLimit =
          new SizeLimit(
              stream,
              jsm.getStreamInfo(stream).getConfiguration().getMaximumMessageSize(),
              nc.getServerInfo().getMaxPayload());
      lease =
          jsm.getConsumerInfo(Protocol.CREDIT_STREAM, Protocol.creditConsumer(s.queue()))
              .getConsumerConfiguration()
              .getAckWait();
      qc = QueueConfig.read(control, s.queue());
      queueWeights = FairnessWeights.readQueue(control, s.queue());
      this.adverts =
          new KvBoard<>(nc, Protocol.CAPACITY_BUCKET, s.queue() + ".*", CapacityAdvert::parseFrom);
    } catch (JetStreamApiException | IOException | InterruptedException e) {
      throw StartupErrors.of(s.queue(), "producer", e, nc.getLastError());
    }
    this.standingBuffer = qc.standingBuffer();
    this.lastRewatchMs = clock.millis();
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "sluice-producer-" + s.producerId() + "-timer");
              t.setDaemon(true);
              return t;
            });
    this.wallet =
        new TokenWallet(
            clock,
            lease,
            s.idleReturn(),
            new Port(),
            new FairnessWeights(s.fairnessWeights(), queueWeights));
    this.puller = new CreditPuller(js, s, wallet);
    this.publisher = new Publisher(js, s, wallet, timer, clock, () -> running);
    this.versions = new VersionGate(s.queue(), s.versionPolicy(), adverts::values, clock);
    puller.start();
    long every = s.reportInterval().toMillis();
    timer.scheduleWithFixedDelay(this::tick, every, every, TimeUnit.MILLISECONDS);
    metrics.gauge("sluice.producer.credits.held", wallet::unspent);
    metrics.gauge("sluice.producer.waiting", wallet::waiting);
  }

  /** The wallet's view of this producer: report, explain, wake the puller. */
  private final class Port implements WalletPort {
    @Override
    public void report(WalletPort.Holdings h) throws Exception {
      ProducerReport r =
          ProducerReport.newBuilder()
              .setProducerId(s.producerId())
              .setQueue(s.queue())
              .setHeldSpent(h.spent()) // stored publishes only, not those in progress [v1.3]
              .setHeldUnspent(h.unspent())
              .setWaiting(h.waiting())
              .setHeartbeatUnixMs(clock.millis())
              .setTtlMs((int) s.reportTtl().toMillis())
              .setLanguage("java")
              .setSentTotal(publisher.sentTotal())
              .addAllFairnessKeys(fairnessKeys()) // §15.3: empty while no send has a key
              .build();
      control.put(Protocol.producerKey(s.queue(), s.producerId()), r.toByteArray());
    }

    @Override
    public RuntimeException timedOut() {
      return TimeoutReasons.explain(
          s.queue(),
          s.acquireTimeout(),
          publisher.hitHardLimit(),
          standingBuffer,
          adverts.values(),
          clock.millis());
    }

    @Override
    public void demandChanged() {
      puller.demandChanged();
    }

    @Override
    public void settleSoon() {
      // A spent token is reported and acked at once: while it stays stored, the reconciler
      // counts its credits twice (in T and in the backlog) and would see a false surplus.
      try {
        timer.execute(ProducerRuntime.this::tick);
      } catch (RejectedExecutionException closing) {
        // close() settles everything itself
      }
    }
  }

  /**
   * Sends one message: checks the version (§4.3), waits for a credit (never blocking the caller),
   * then publishes. The future fails with {@link UnsupportedVersionException}, {@link
   * MessageTooLargeException} (before any credit is reserved), {@link
   * dev.sluice.CreditTimeoutException}, {@link dev.sluice.PublishException} or, once closed, {@link
   * SluiceException}.
   *
   * @param body the payload bytes, which the caller does not modify afterwards
   */
  public CompletableFuture<SendResult> sendAsync(
      OutgoingMessage m, byte[] body, Duration acquireTimeout) {
    if (!running) {
      return CompletableFuture.failedFuture(
          new SluiceException("producer " + s.producerId() + " is closed"));
    }
    try {
      versions.check(m.type(), m.version());
    } catch (UnsupportedVersionException e) {
      return CompletableFuture.failedFuture(e);
    }
    long start = clock.nanos();
    long deadline = start + acquireTimeout.toNanos();
    String traceparent = traceparentFor(m);
    SealedHeaders headers = publisher.headers(m, traceparent);
    try {
      sizeLimit.check(headers, body.length);
    } catch (MessageTooLargeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return wallet
        .acquire(deadline, m.fairnessKey())
        .thenCompose(
            credit -> {
              metrics.timeNanos("sluice.producer.acquire", clock.nanos() - start);
              if (m.fairnessKey() != null) {
                metrics.count("sluice.producer.fairness.granted", "key", m.fairnessKey());
              }
              try {
                return publisher.publish(m, headers, body, credit, deadline, traceparent);
              } catch (RuntimeException e) {
                wallet.release(credit, true); // nothing was sent: do not leak the credit
                return CompletableFuture.failedFuture(e);
              }
            });
  }

  /**
   * The version check of a send (§4.3), for a message scheduled now and sent later.
   *
   * @throws UnsupportedVersionException as {@link #sendAsync} fails with it
   * @throws SluiceException the producer is closed
   */
  public void checkVersion(String type, int version) {
    if (!running) {
      throw new SluiceException("producer " + s.producerId() + " is closed");
    }
    versions.check(type, version);
  }

  /**
   * The traceparent a send of {@code m} carries: a child of the message's own, else of the current
   * OpenTelemetry span, else a new trace. Call it on the caller's thread: the span is the caller's.
   *
   * <p>A new trace is sampled only when OpenTelemetry's API is on this producer's class path.
   * Without it nothing records the trace, and the W3C sampled flag says that the caller may have
   * recorded something; it also costs the server: nats-server 2.11+ copies every header of every
   * message whose {@code traceparent} is sampled into a map (message tracing, {@code
   * genHeaderMapIfTraceHeadersPresent} in server/msgtrace.go), even when no account traces, which
   * was a fifth of what the server allocated per Sluice message. With OpenTelemetry present a new
   * trace stays sampled, so that workers whose sampler follows the parent record their handler
   * spans. See docs/BENCHMARKS.md, "Trace flags".
   */
  public String traceparentFor(OutgoingMessage m) {
    TraceContext parent = TraceContext.parse(m.traceparent());
    if (parent == null) {
      parent = Tracing.currentParent();
    }
    return parent != null
        ? parent.child().header()
        : TraceContext.newTraceHeader(Tracing.openTelemetry());
  }

  /** The fairness keys of this producer's sends as its report states them (§15.3). */
  public List<FairnessKeyState> fairnessKeys() {
    return wallet.fairnessKeys(REPORTED_KEYS).stream()
        .map(
            k ->
                FairnessKeyState.newBuilder()
                    .setKey(k.key())
                    .setWeight(k.weight())
                    .setWaiting(k.waiting())
                    .setGrantedTotal(k.granted())
                    .build())
        .toList();
  }

  /** Unspent credits held right now. */
  public long heldUnspent() {
    return wallet.unspent();
  }

  public long returnedUnspent() {
    return wallet.returnedUnspent();
  }

  /** Sends waiting for a credit right now. */
  public int waitingCount() {
    return wallet.waiting();
  }

  /** Messages stored so far. */
  public long sentTotal() {
    return publisher.sentTotal();
  }

  /** This producer's id. */
  public String producerId() {
    return s.producerId();
  }

  private void tick() {
    try {
      if (running) {
        refreshAdvertsIfEmpty();
      }
      wallet.settle();
    } catch (Exception e) {
      LOG.warn("producer {} housekeeping failed: {}", s.producerId(), e.toString());
    }
  }

  /**
   * With no live advert in view, the adverts watch may have stopped (a server restart can lose its
   * consumer); watch anew now and then, off the timer thread.
   */
  private void refreshAdvertsIfEmpty() {
    long now = clock.millis();
    if (now - lastRewatchMs < REWATCH_EVERY_MS
        || adverts.values().stream().anyMatch(a -> Window.live(a, now))) {
      return;
    }
    lastRewatchMs = now;
    CompletableFuture.runAsync(adverts::rewatch);
  }

  /**
   * Stops acquiring, fails waiting sends, lets publishes in flight finish (up to twice the publish
   * timeout), returns every held token and deletes the report. Idempotent: a second call, also a
   * concurrent one, returns when the first has finished.
   */
  @Override
  public void close() {
    if (!closing.compareAndSet(false, true)) {
      closed.join();
      return;
    }
    try {
      running = false;
      puller.close();
      wallet.close("producer " + s.producerId() + " closed");
      try {
        if (!wallet.awaitNoneInFlight(s.publishTimeout().multipliedBy(2))) {
          LOG.warn("producer {} closes with publishes still in flight", s.producerId());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      timer.shutdown();
      try {
        timer.awaitTermination(5, TimeUnit.SECONDS);
        wallet.settle(); // the wallet is closed: returns every held token
        control.delete(Protocol.producerKey(s.queue(), s.producerId()));
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        LOG.warn(
            "producer {} could not return its credits cleanly ({}); the lease and the reconciler"
                + " will",
            s.producerId(),
            e.toString());
      }
      adverts.close();
      metrics.close();
    } finally {
      closed.complete(null);
    }
  }
}
