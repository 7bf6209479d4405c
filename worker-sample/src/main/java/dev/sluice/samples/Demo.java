package dev.sluice.samples;

import dev.sluice.DeadLetterRecord;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.SendResult;
import dev.sluice.Sluice;
import dev.sluice.SluiceHeaders;
import dev.sluice.Worker;
import dev.sluice.samples.orders.Orders;
import dev.sluice.samples.orders.SampleConnections;
import dev.sluice.samples.producer.OrderProducer;
import dev.sluice.samples.worker.Effects;
import dev.sluice.samples.worker.OrderHandler;
import dev.sluice.samples.worker.OrderWorker;
import io.nats.client.Connection;
import java.io.PrintStream;
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

  private final DemoOptions o;
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

  public Demo(DemoOptions options, PrintStream err) {
    this.o = options;
    this.err = err;
  }

  public static void main(String[] args) {
    DemoOptions options;
    try {
      options = DemoOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(64);
      return;
    }
    DemoSummary s;
    try {
      s = new Demo(options, System.err).run();
    } catch (Exception e) {
      System.err.println("demo failed: " + e);
      e.printStackTrace(System.err);
      System.exit(3);
      return;
    }
    s.print(System.out);
    if (options.json()) {
      System.out.println(s.toJson());
    }
    System.out.flush();
    // Exit status: 1 if a message was lost, 2 if one was processed twice or the bound was broken.
    System.exit(s.lost() > 0 ? 1 : s.duplicatesProcessed() > 0 || !s.backlogBounded() ? 2 : 0);
  }

  /** Runs the whole demo and returns its summary; closes everything it opened. */
  public DemoSummary run() throws Exception {
    try (Connection nc = connect("demo-monitor")) {
      Sluice sluice = Sluice.using(nc);
      sluice.apply(o.config(), false); // idempotent: streams, consumers, KV buckets, settings
      int tokenBatch = sluice.inspect(Orders.QUEUE).effectiveTokenBatch();
      long before = sluice.backlog(Orders.QUEUE);
      if (before > 0) {
        err.printf("demo: the queue already holds %d messages from an earlier run%n", before);
      }

      // K workers, each on its own connection as separate processes would be.
      OrderHandler handler =
          new OrderHandler(
              new OrderHandler.Settings(Duration.ofMillis(o.workMs()), o.failRate()),
              effects,
              (order, ctx) -> {
                String sentAt = ctx.headers().get(SluiceHeaders.SENT_AT);
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
              backlog = sluice.backlog(Orders.QUEUE);
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
      long progressMs = o.progress() == DemoOptions.Progress.TTY ? 250 : 1000;
      if (o.progress() != DemoOptions.Progress.OFF) {
        timers.scheduleAtFixedRate(
            () -> progress(sluice, produced.get(), window, slack, rate, start),
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
              && sluice.backlog(Orders.QUEUE) == 0) {
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
      if (o.progress() == DemoOptions.Progress.TTY) {
        err.print("\r\033[K");
      } else if (o.progress() == DemoOptions.Progress.LINES) {
        progressLine(produced.get(), window, slack, rate, start);
      }

      // Account for every produced message: processed (effects), or a dead-letter record.
      Set<String> deadLettered = deadLetteredIds(sluice);
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
      long creditsAtEnd = sluice.inspect(Orders.QUEUE).tokens();
      return new DemoSummary(
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

  /** Original message ids of this run's orders that have a dead-letter record. */
  private Set<String> deadLetteredIds(Sluice sluice) {
    Set<String> ids = ConcurrentHashMap.newKeySet();
    for (DeadLetterRecord r : sluice.deadLetters().list(Orders.QUEUE, Integer.MAX_VALUE)) {
      r.originalMessageId().filter(producedIds::contains).ifPresent(ids::add);
    }
    return ids;
  }

  private void progress(
      Sluice sluice, long produced, long window, long slack, RateMeter rate, long start) {
    try {
      credits = sluice.inspect(Orders.QUEUE).tokens();
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
    if (o.progress() == DemoOptions.Progress.TTY) {
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
}
