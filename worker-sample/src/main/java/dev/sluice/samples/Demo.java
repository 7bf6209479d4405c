package dev.sluice.samples;

import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.SendResult;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.internal.credit.Ledgers;
import dev.sluice.internal.proto.QueueSettings;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.samples.orders.Orders;
import dev.sluice.samples.orders.SampleConnections;
import dev.sluice.samples.producer.OrderProducer;
import dev.sluice.samples.worker.Effects;
import dev.sluice.samples.worker.OrderHandler;
import dev.sluice.samples.worker.OrderWorker;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.MessageInfo;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * The one-command demo (run by {@code scripts/demo}): applies {@code jetstream-config/}, starts
 * {@code K} sample workers and the sample producer in this JVM against one nats-server, shows a
 * live progress line, waits for the queue to drain and prints a summary that accounts for every
 * message. See docs/DEMO.md.
 */
public final class Demo {
  /** The demo's options; {@link #parse} reads them from the command line. */
  public record Options(
      String server,
      int messages,
      int workers,
      double failRate,
      double poisonRate,
      double v1Share,
      long workMs,
      int concurrency,
      int prefetch,
      Path config,
      Duration drainTimeout,
      Progress progress,
      boolean json,
      long seed) {

    static final String USAGE =
        """
        usage: Demo --server URL [--messages N] [--workers K] [--fail-rate P] [--poison-rate P]
                    [--v1-share S] [--work-ms MS] [--concurrency N] [--prefetch N]
                    [--config DIR] [--drain-timeout S] [--progress tty|lines|off] [--json]
                    [--seed N]""";

    public static Options parse(String... args) {
      String server = null;
      int messages = 3000;
      int workers = 3;
      double failRate = 0.05;
      Double poisonRate = null;
      double v1Share = 0.2;
      long workMs = 10;
      int concurrency = 4;
      int prefetch = 28; // capacity 4 + 28 = 32 = the token batch: see docs/DEMO.md
      Path config = Path.of("jetstream-config");
      Duration drain = Duration.ofSeconds(60);
      Progress progress = Progress.LINES;
      boolean json = false;
      long seed = System.currentTimeMillis(); // fresh message ids on every run
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        if (a.equals("--json")) {
          json = true;
          continue;
        }
        if (a.equals("-h") || a.equals("--help")) {
          throw new IllegalArgumentException(USAGE);
        }
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("missing value for " + a + "\n" + USAGE);
        }
        String v = args[++i];
        switch (a) {
          case "--server" -> server = v;
          case "--messages" -> messages = Integer.parseInt(v);
          case "--workers" -> workers = Integer.parseInt(v);
          case "--fail-rate" -> failRate = Double.parseDouble(v);
          case "--poison-rate" -> poisonRate = Double.parseDouble(v);
          case "--v1-share" -> v1Share = Double.parseDouble(v);
          case "--work-ms" -> workMs = Long.parseLong(v);
          case "--concurrency" -> concurrency = Integer.parseInt(v);
          case "--prefetch" -> prefetch = Integer.parseInt(v);
          case "--config" -> config = Path.of(v);
          case "--drain-timeout" -> drain = Duration.ofSeconds(Long.parseLong(v));
          case "--progress" -> progress = Progress.valueOf(v.toUpperCase(Locale.ROOT));
          case "--seed" -> seed = Long.parseLong(v);
          default -> throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
        }
      }
      if (server == null) {
        throw new IllegalArgumentException("--server is required\n" + USAGE);
      }
      if (messages < 1 || workers < 1 || failRate < 0 || failRate > 1) {
        throw new IllegalArgumentException("need messages >= 1, workers >= 1, 0 <= fail-rate <= 1");
      }
      double poison = poisonRate != null ? poisonRate : failRate / 5;
      return new Options(
          server,
          messages,
          workers,
          failRate,
          poison,
          v1Share,
          workMs,
          concurrency,
          prefetch,
          config,
          drain,
          progress,
          json,
          seed);
    }
  }

  /** How the progress line is shown: rewritten in place, one line per second, or not at all. */
  public enum Progress {
    TTY,
    LINES,
    OFF
  }

  /** What a run did. {@link #toJson()} is the line {@code --json} prints last. */
  public record Summary(
      long produced,
      long processed,
      long retried,
      long deadLettered,
      long duplicatesProcessed,
      long lost,
      long maxBacklog,
      long window,
      long slack,
      double e2eP50Ms,
      double e2eP99Ms,
      long sendFailures,
      long upcastV1,
      long duplicatesAcked,
      long creditsAtEnd,
      double elapsedSeconds,
      double throughput) {

    public String toJson() {
      return String.format(
          Locale.ROOT,
          "{\"produced\":%d,\"processed\":%d,\"retried\":%d,\"dead_lettered\":%d,"
              + "\"duplicates_processed\":%d,\"lost\":%d,\"max_backlog\":%d,\"window\":%d,"
              + "\"slack\":%d,\"e2e_p50_ms\":%.1f,\"e2e_p99_ms\":%.1f,\"send_failures\":%d,"
              + "\"upcast_v1\":%d,\"duplicates_acked\":%d,\"credits_at_end\":%d,"
              + "\"elapsed_s\":%.1f,\"throughput_per_s\":%.0f}",
          produced,
          processed,
          retried,
          deadLettered,
          duplicatesProcessed,
          lost,
          maxBacklog,
          window,
          slack,
          e2eP50Ms,
          e2eP99Ms,
          sendFailures,
          upcastV1,
          duplicatesAcked,
          creditsAtEnd,
          elapsedSeconds,
          throughput);
    }

    /** True when the backlog stayed within the protocol's bound (PROTOCOL.md §5.6). */
    public boolean backlogBounded() {
      return maxBacklog <= window + slack;
    }
  }

  private final Options o;
  private final PrintStream err;
  private final Effects effects = new Effects();
  private final Histogram e2e = new ConcurrentHistogram(3);
  private final Set<String> producedIds = ConcurrentHashMap.newKeySet();
  private final AtomicLong sendFailures = new AtomicLong();
  private final AtomicLong upcast = new AtomicLong();
  private final AtomicLong maxBacklog = new AtomicLong();
  private volatile long backlog;
  private volatile long credits;
  private final List<Worker> workers = new ArrayList<>();
  private final List<Connection> connections = new ArrayList<>();

  public Demo(Options options, PrintStream err) {
    this.o = options;
    this.err = err;
  }

  public static void main(String[] args) {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(64);
      return;
    }
    Summary s;
    try {
      s = new Demo(options, System.err).run();
    } catch (Exception e) {
      System.err.println("demo failed: " + e);
      e.printStackTrace(System.err);
      System.exit(3);
      return;
    }
    printSummary(s, System.out);
    if (options.json()) {
      System.out.println(s.toJson());
    }
    System.out.flush();
    // Exit status: 1 if a message was lost, 2 if one was processed twice or the bound was broken.
    System.exit(s.lost() > 0 ? 1 : s.duplicatesProcessed() > 0 || !s.backlogBounded() ? 2 : 0);
  }

  /** Runs the whole demo and returns its summary; closes everything it opened. */
  public Summary run() throws Exception {
    try (Connection nc = connect("demo-monitor")) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      Sluice sluice = Sluice.using(nc);
      sluice.apply(o.config(), false); // idempotent: streams, consumers, KV buckets, settings
      int tokenBatch = tokenBatch(nc);
      long dlqStart = jsm.getStreamInfo(Protocol.DLQ_STREAM).getStreamState().getLastSequence();
      long before = Ledgers.backlog(jsm, Orders.QUEUE);
      if (before > 0) {
        err.printf("demo: the queue already holds %d messages from an earlier run%n", before);
      }

      // K workers, each on its own connection as separate processes would be.
      OrderHandler handler =
          new OrderHandler(
              new OrderHandler.Settings(Duration.ofMillis(o.workMs()), o.failRate()),
              effects,
              (order, ctx) -> {
                String sentAt = ctx.headers().get("Sluice-Sent-At");
                if (sentAt != null) {
                  e2e.recordValue(Math.max(0, System.currentTimeMillis() - Long.parseLong(sentAt)));
                }
                if (ctx.version() == 1) {
                  upcast.incrementAndGet();
                }
              });
      String run = Long.toString(o.seed() % 100_000);
      for (int i = 1; i <= o.workers(); i++) {
        Connection wc = connect("demo-worker-" + i);
        connections.add(wc);
        workers.add(
            OrderWorker.start(
                Sluice.using(wc),
                handler,
                "demo-" + run + "-w" + i,
                o.concurrency(),
                o.prefetch()));
      }
      long window = workers.stream().mapToLong(Worker::advertisedCapacity).sum();
      long slack = (long) o.workers() * (tokenBatch - 1);

      ScheduledExecutorService timers =
          Executors.newScheduledThreadPool(
              2,
              r -> {
                Thread t = new Thread(r, "demo-timer");
                t.setDaemon(true);
                return t;
              });
      long start = System.nanoTime();
      AtomicLong produced = new AtomicLong();
      // Backlog B every 20 ms, for max_backlog.
      timers.scheduleWithFixedDelay(
          () -> {
            try {
              backlog = Ledgers.backlog(jsm, Orders.QUEUE);
              maxBacklog.accumulateAndGet(backlog, Math::max);
            } catch (Exception e) {
              // the next sample will tell
            }
          },
          0,
          20,
          TimeUnit.MILLISECONDS);
      RateMeter rate = new RateMeter();
      QueueProducer producer;
      Connection pc = connect("demo-producer");
      connections.add(pc);
      producer =
          Sluice.using(pc).producer(Orders.QUEUE).acquireTimeout(Duration.ofSeconds(60)).build();
      QueueProducer p = producer;
      long progressMs = o.progress() == Progress.TTY ? 250 : 1000;
      if (o.progress() != Progress.OFF) {
        timers.scheduleAtFixedRate(
            () -> progress(jsm, p, produced.get(), window, slack, rate, start),
            progressMs,
            progressMs,
            TimeUnit.MILLISECONDS);
      }

      try {
        // The producer: as fast as credits allow.
        new OrderProducer(
                producer,
                new OrderProducer.Settings(
                    o.messages(), o.poisonRate(), o.v1Share(), 256, o.seed()))
            .run(
                new OrderProducer.Listener() {
                  @Override
                  public void stored(OutgoingMessage m, SendResult r) {
                    if (!r.duplicate()) {
                      producedIds.add(m.messageId());
                      produced.incrementAndGet();
                    }
                  }

                  @Override
                  public void failed(OutgoingMessage m, Throwable e) {
                    if (sendFailures.incrementAndGet() <= 5) {
                      err.printf("%nsend %s failed: %s%n", m.messageId(), e);
                    }
                  }
                });

        // Drain: every produced message processed or dead-lettered, and the stream empty.
        long deadline = System.nanoTime() + o.drainTimeout().toNanos();
        while (System.nanoTime() < deadline) {
          long dlq = workers.stream().mapToLong(Worker::deadLetteredCount).sum();
          if (effects.completedMessages() + dlq >= produced.get()
              && Ledgers.backlog(jsm, Orders.QUEUE) == 0) {
            break;
          }
          Thread.sleep(50);
        }
      } finally {
        producer.close(); // returns unspent credits
        closeWorkers();
      }
      double elapsed = (System.nanoTime() - start) / 1e9;
      timers.shutdownNow();
      if (o.progress() == Progress.TTY) {
        err.print("\r\033[K");
      } else if (o.progress() == Progress.LINES) {
        progressLine(produced.get(), window, slack, rate, start);
      }

      // Account for every produced message: processed (effects), or a dead-letter record.
      Set<String> deadLettered = deadLetteredIds(jsm, dlqStart);
      long processed = 0;
      long lost = 0;
      for (String id : producedIds) {
        if (effects.isCompleted(id)) {
          processed++;
        } else if (!deadLettered.contains(id)) {
          lost++;
        }
      }
      long retried = 0;
      long dupAcked = 0;
      for (Worker w : workers) {
        retried += w.retriedCount();
        dupAcked += w.duplicateCount();
      }
      long creditsAtEnd = Ledgers.tokens(jsm, Orders.QUEUE);
      return new Summary(
          producedIds.size(),
          processed,
          retried,
          deadLettered.size(),
          effects.duplicateCompletions(),
          lost,
          maxBacklog.get(),
          window,
          slack,
          e2e.getTotalCount() == 0 ? 0 : e2e.getValueAtPercentile(50),
          e2e.getTotalCount() == 0 ? 0 : e2e.getValueAtPercentile(99),
          sendFailures.get(),
          upcast.get(),
          dupAcked,
          creditsAtEnd,
          elapsed,
          processed / elapsed);
    } finally {
      closeWorkers();
      for (Connection c : connections) {
        try {
          c.close();
        } catch (Exception e) {
          // closing anyway
        }
      }
    }
  }

  private void closeWorkers() {
    // In parallel: each close waits for its in-flight handlers and mints what it owes.
    workers.parallelStream().forEach(Worker::close);
  }

  /** The queue's token batch from its settings in KV (PROTOCOL.md §2), default 32. */
  private static int tokenBatch(Connection nc) throws Exception {
    KeyValue kv = nc.keyValue(Protocol.CONTROL_BUCKET);
    KeyValueEntry e = kv.get(Protocol.settingsKey(Orders.QUEUE));
    if (e != null && e.getValue() != null) {
      int b = QueueSettings.parseFrom(e.getValue()).getTokenBatch();
      if (b > 0) {
        return b;
      }
    }
    return 32;
  }

  /**
   * Original message ids of this run's dead-letter records (after stream sequence {@code from}).
   */
  private Set<String> deadLetteredIds(JetStreamManagement jsm, long from) throws Exception {
    Set<String> ids = ConcurrentHashMap.newKeySet();
    long last = jsm.getStreamInfo(Protocol.DLQ_STREAM).getStreamState().getLastSequence();
    String subject = "sluice.dlq." + Orders.QUEUE;
    long seq = from + 1;
    while (seq <= last) {
      MessageInfo mi;
      try {
        mi = jsm.getNextMessage(Protocol.DLQ_STREAM, seq, subject);
      } catch (io.nats.client.JetStreamApiException e) {
        break; // no further message on the subject
      }
      String id = mi.getHeaders() == null ? null : mi.getHeaders().getFirst("Sluice-Dlq-Msg-Id");
      if (id != null && producedIds.contains(id)) {
        ids.add(id);
      }
      seq = mi.getSeq() + 1;
    }
    return ids;
  }

  private void progress(
      JetStreamManagement jsm,
      QueueProducer producer,
      long produced,
      long window,
      long slack,
      RateMeter rate,
      long start) {
    try {
      credits = Ledgers.tokens(jsm, Orders.QUEUE);
    } catch (Exception e) {
      // keep the last reading
    }
    progressLine(produced, window, slack, rate, start);
  }

  private void progressLine(long produced, long window, long slack, RateMeter rate, long start) {
    long retried = 0;
    long dlq = 0;
    for (Worker w : workers) {
      retried += w.retriedCount();
      dlq += w.deadLetteredCount();
    }
    long processed = effects.completedMessages();
    String line =
        String.format(
            Locale.ROOT,
            "%5.1fs produced %d/%d processed %d retried %d dead-lettered %d | backlog %d/%d"
                + " (max %d, bound %d) credits %d | %.0f msg/s",
            (System.nanoTime() - start) / 1e9,
            produced,
            o.messages(),
            processed,
            retried,
            dlq,
            backlog,
            window,
            maxBacklog.get(),
            window + slack,
            credits,
            rate.update(processed));
    if (produced == 0 && processed == 0) {
      // A fresh queue has no credits: the reconciler mints the window after two agreeing audits.
      line += " | waiting for the first credits";
    }
    if (o.progress() == Progress.TTY) {
      err.print("\r\033[K" + line);
    } else {
      err.println(line);
    }
    err.flush();
  }

  private Connection connect(String name) throws Exception {
    return SampleConnections.connect(o.server(), name);
  }

  /** Processed per second over the last readings, smoothed. */
  private static final class RateMeter {
    private long lastCount;
    private long lastNanos = System.nanoTime();
    private double rate;

    synchronized double update(long count) {
      long now = System.nanoTime();
      double dt = (now - lastNanos) / 1e9;
      if (dt >= 0.2) {
        double r = (count - lastCount) / dt;
        rate = rate == 0 ? r : 0.5 * rate + 0.5 * r;
        lastCount = count;
        lastNanos = now;
      }
      return rate;
    }
  }

  static void printSummary(Summary s, PrintStream out) {
    out.printf(
        Locale.ROOT,
        "produced %d, processed %d, dead-lettered %d, lost %d, processed twice %d%n"
            + "retried %d attempts; %d v1 orders upcast to v2; %d send failures%n"
            + "backlog max %d <= window %d + slack %d: %s%n"
            + "end-to-end latency p50 %.1f ms, p99 %.1f ms; %.0f orders/s over %.1f s%n",
        s.produced(),
        s.processed(),
        s.deadLettered(),
        s.lost(),
        s.duplicatesProcessed(),
        s.retried(),
        s.upcastV1(),
        s.sendFailures(),
        s.maxBacklog(),
        s.window(),
        s.slack(),
        s.backlogBounded() ? "ok" : "VIOLATED",
        s.e2eP50Ms(),
        s.e2eP99Ms(),
        s.throughput(),
        s.elapsedSeconds());
  }
}
