package dev.sluice.faults;

import dev.sluice.DeadLetterRecord;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueInspection;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One queue under load with every outcome recorded: workers whose handler appends each message's id
 * to the shared effect log (shared idempotency on), producers whose acknowledged sends are
 * recorded, and the settle check that turns those records and the dead letters into a {@link
 * Ledger} and a convergence verdict. Workers in child JVMs ({@link ChildWorker}, {@link
 * ChildProducer}) write to the same logs. Not thread-safe, apart from the senders it starts.
 */
final class Workload {
  private static final Logger LOG = LoggerFactory.getLogger(Workload.class);

  /** The payload type every scenario sends. */
  static final Codec<String> JOB = Codec.utf8("faults.Job", 1);

  /** Worker heartbeat: short, so a killed worker's advert expires within a second. */
  static final Duration HEARTBEAT = Duration.ofMillis(250);

  /** Advert TTL of every worker. */
  static final Duration ADVERT_TTL = Duration.ofSeconds(1);

  /** Reconciler audit period of every worker. */
  static final Duration AUDIT = Duration.ofMillis(300);

  /**
   * How long the credits must stay balanced to count as converged: longer than a token lease plus a
   * report's TTL, so a token still held by a killed producer cannot come back after the verdict.
   */
  static final Duration STABLE = Duration.ofSeconds(3);

  private final Lab lab;
  private final String queue;
  private final Connection admin;
  private final IdLog effects;
  private final IdLog childAcks;
  private final Set<String> acked = ConcurrentHashMap.newKeySet();
  private volatile String lastUnbalanced = "";

  Workload(Lab lab, Connection admin, String queue) {
    this.lab = lab;
    this.admin = admin;
    this.queue = queue;
    this.effects = lab.own(new IdLog(lab.dir().resolve(queue + ".effects")));
    this.childAcks = lab.own(new IdLog(lab.dir().resolve(queue + ".acked")));
  }

  /** The queue's name. */
  String queue() {
    return queue;
  }

  /** The shared effect log (for child workers' arguments). */
  IdLog effects() {
    return effects;
  }

  /** The acknowledged-send log of child producers. */
  IdLog childAcks() {
    return childAcks;
  }

  /** A queue spec with the suite's defaults: lease 2 s, ack wait 3 s, token batch 4. */
  QueueSpec.Builder spec() {
    return QueueSpec.builder(queue)
        .lease(Duration.ofSeconds(2))
        .ackWait(Duration.ofSeconds(3))
        .tokenBatch(4);
  }

  /** Provisions the queue. */
  void provision(QueueSpec spec) {
    Sluice.using(admin).provision(spec);
  }

  /** A worker builder with the suite's defaults and {@code handler}; the caller starts it. */
  Worker.Builder worker(Connection nc, String id, dev.sluice.Handler<String> handler) {
    return Sluice.using(nc)
        .worker(queue)
        .workerId(id)
        .concurrency(4)
        .prefetch(4)
        .heartbeat(HEARTBEAT)
        .advertTtl(ADVERT_TTL)
        .reconciler(AUDIT)
        .sharedIdempotency()
        .handle(JOB, handler);
  }

  /** Starts a worker with the suite's defaults, closed with the scenario. */
  Worker startWorker(Connection nc, String id, Duration handlerTime) {
    return lab.own(worker(nc, id, handler(effects, handlerTime)).start());
  }

  /** The handler every worker runs: take {@code time}, then record the effect. */
  static dev.sluice.Handler<String> handler(IdLog effects, Duration time) {
    return (body, ctx) -> {
      if (!time.isZero()) {
        Thread.sleep(time.toMillis()); // the work itself, not a wait for an outcome
      }
      effects.append(ctx.messageId());
    };
  }

  /** A producer with a 60 s acquire timeout, closed with the scenario. */
  QueueProducer producer(Connection nc, String id) {
    return lab.own(
        Sluice.using(nc)
            .producer(queue)
            .producerId(id)
            .acquireTimeout(Duration.ofSeconds(60))
            .build());
  }

  /**
   * Starts a thread that sends up to {@code max} messages with ids {@code <prefix>-<n>}, one every
   * {@code pace}, each on its own future, recording every acknowledged send. A send that fails (a
   * fault outlasting its timeout) is not acknowledged and not counted.
   */
  Sender startSender(QueueProducer p, String prefix, int max, Duration pace) {
    Sender s = lab.own(new Sender(p, prefix, max, pace));
    s.start();
    return s;
  }

  /** Records that the send of {@code id} was acknowledged (for raw publishes). */
  void acked(String id) {
    acked.add(id);
  }

  /** Everything recorded so far: acked sends (in-process and children), effects, dead letters. */
  Ledger ledger() {
    Ledger l = new Ledger().ackedAll(acked).ackedAll(childAcks.read());
    effects.read().forEach(l::effect);
    try {
      for (DeadLetterRecord r : Sluice.using(admin).deadLetters().list(queue, 100_000)) {
        r.originalMessageId().ifPresent(l::deadLettered);
      }
    } catch (RuntimeException e) {
      // no dead-letter stream (yet): nothing dead-lettered
    }
    return l;
  }

  /** Effects recorded so far. */
  int effectCount() {
    return effects.read().size();
  }

  /** The queue's window now, or -1 when it cannot be read. */
  long window() {
    try {
      return Sluice.using(admin).inspect(queue).window();
    } catch (RuntimeException e) {
      return -1;
    }
  }

  /**
   * Whether the credits balance now: circulating credits equal a positive window. An unbalanced
   * reading is logged with its terms when it differs from the last one logged, so a scenario whose
   * credits did not converge shows why in its log.
   */
  boolean creditsBalanced() {
    try {
      QueueInspection i = Sluice.using(admin).inspect(queue);
      boolean balanced = i.window() > 0 && i.deficit() == 0;
      if (!balanced) {
        String reading =
            String.format(
                "W=%d B=%d T=%d S=%d O=%d debt=%d d=%d",
                i.window(),
                i.backlog(),
                i.tokens(),
                i.heldSpent(),
                i.owed(),
                i.debt(),
                i.deficit());
        if (!reading.equals(lastUnbalanced)) {
          lastUnbalanced = reading;
          LOG.info("queue {}: credits not balanced: {}", queue, reading);
        }
      }
      return balanced;
    } catch (RuntimeException e) {
      return false; // the server is unreachable or the queue is being re-provisioned
    }
  }

  /** Waits up to {@code bound} until the credits balance (the workers' first tokens are minted). */
  void awaitBalanced(Duration bound) throws InterruptedException {
    long deadline = System.nanoTime() + bound.toNanos();
    while (!creditsBalanced()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("queue " + queue + ": credits never balanced in " + bound);
      }
      Thread.sleep(100); // polling the server's state
    }
  }

  /** Waits up to {@code bound} until handlers recorded at least {@code n} effects. */
  void awaitEffects(int n, Duration bound) throws InterruptedException {
    long deadline = System.nanoTime() + bound.toNanos();
    while (effectCount() < n) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "queue " + queue + ": " + effectCount() + " effects after " + bound + ", wanted " + n);
      }
      Thread.sleep(100); // polling the effect log other processes write
    }
  }

  /**
   * Ends a fault's load and measures recovery: stops {@code load} (its sends in flight still
   * complete), waits until everything acknowledged is settled and the credits balance, then checks
   * that the queue still serves: 20 more sends through the same producer must settle too.
   *
   * @return seconds from the fault's end until the queue had recovered (before the check's sends),
   *     or -1 when it did not within {@code bound}
   */
  double recover(Sender load, long faultEndNanos, Duration bound) throws InterruptedException {
    load.stop();
    double rec = awaitRecovery(faultEndNanos, bound);
    if (rec >= 0) {
      startSender(load.producer, load.prefix + "-after", 20, Duration.ofMillis(5))
          .awaitOffered(Duration.ofSeconds(30));
      if (awaitRecovery(System.nanoTime(), Duration.ofSeconds(30)) < 0) {
        return -1;
      }
    }
    return rec;
  }

  /**
   * Waits up to {@code bound} until every acknowledged send is settled (processed or dead-lettered)
   * and the credits balance in two readings at least one audit apart.
   *
   * @param faultEndNanos {@link System#nanoTime()} when the fault ended
   * @return seconds from the fault's end to that moment, or -1 when it did not happen in time
   */
  double awaitRecovery(long faultEndNanos, Duration bound) throws InterruptedException {
    long deadline = System.nanoTime() + bound.toNanos();
    long balancedSince = -1;
    while (System.nanoTime() < deadline) {
      Ledger l = ledger();
      boolean settled = l.lost().isEmpty();
      boolean balanced = settled && creditsBalanced();
      long now = System.nanoTime();
      if (balanced) {
        if (balancedSince < 0) {
          balancedSince = now;
        } else if (now - balancedSince >= STABLE.toNanos()) {
          return Math.max(0, (balancedSince - faultEndNanos) / 1e9);
        }
      } else {
        balancedSince = -1;
      }
      lab.status(
          String.format(
              "recovering: %d of %d acked settled%s",
              l.ackedCount() - l.lost().size(), l.ackedCount(), settled ? ", credits?" : ""));
      Thread.sleep(200); // polling the server's state; the loop's condition is what it waits on
    }
    return -1;
  }

  /** Sends at a steady pace on its own thread. */
  final class Sender implements AutoCloseable {
    private final QueueProducer producer;
    private final String prefix;
    private final int max;
    private final Duration pace;
    private final AtomicInteger sent = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private final Thread thread;
    private volatile boolean stop;

    private Sender(QueueProducer producer, String prefix, int max, Duration pace) {
      this.producer = producer;
      this.prefix = prefix;
      this.max = max;
      this.pace = pace;
      this.thread = new Thread(this::run, "faults-sender-" + prefix);
      this.thread.setDaemon(true);
    }

    private void start() {
      thread.start();
    }

    private void run() {
      for (int n = 0; n < max && !stop; n++) {
        String id = prefix + "-" + n;
        OutgoingMessage m =
            OutgoingMessage.builder(JOB.type(), JOB.version(), id.getBytes(StandardCharsets.UTF_8))
                .contentType(JOB.contentType())
                .messageId(id)
                .build();
        sent.incrementAndGet();
        producer
            .sendAsync(m)
            .whenComplete(
                (r, e) -> {
                  if (e == null) {
                    acked.add(id);
                  } else {
                    failed.incrementAndGet();
                  }
                });
        try {
          Thread.sleep(pace.toMillis()); // the offered load's pace
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    /** Sends started so far. */
    int sent() {
      return sent.get();
    }

    /** Sends that failed. */
    int failed() {
      return failed.get();
    }

    /** Waits up to {@code bound} until every message was offered (or the sender was stopped). */
    void awaitOffered(Duration bound) throws InterruptedException {
      thread.join(bound.toMillis());
    }

    /** Stops sending and waits for the thread; sends in flight still complete. */
    void stop() throws InterruptedException {
      stop = true;
      thread.join(10_000);
    }

    /** Waits until every send started has completed, for at most {@code bound}. */
    void awaitCompleted(Duration bound) throws InterruptedException {
      long deadline = System.nanoTime() + bound.toNanos();
      while (producer.waiting() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(100); // the producer has no completion event for all sends
      }
    }

    @Override
    public void close() throws InterruptedException {
      stop();
    }
  }
}
