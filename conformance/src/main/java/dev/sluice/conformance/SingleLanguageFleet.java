package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;
import static dev.sluice.conformance.Report.summarize;

import dev.sluice.QueueInspection;
import dev.sluice.QueueSpec;
import dev.sluice.ReconcilerLease;
import io.nats.client.api.MessageInfo;
import io.nats.client.impl.NatsMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A fleet of one language alone on its queue: its producers and three workers, no Java worker and
 * no Java reconciler, the queue provisioned by the runner with no standing buffer. The workers run
 * the reconciler ({@code --reconciler}), so the fleet must keep its own credits whole (§5.5): mint
 * the window on the fresh queue, hold the credit bound under load (§5.6), heal after one worker is
 * killed with SIGKILL (the reconciler's lease holder, so the lease must move too), dead-letter a
 * poison message and a message of a version nobody handles, each with its reason.
 */
final class SingleLanguageFleet implements Scenario {
  private static final int WORKERS = 3;
  private static final int CONCURRENCY = 2;
  private static final int PREFETCH = 2;
  private static final int CAPACITY = CONCURRENCY + PREFETCH;
  private static final int MESSAGES = 240;

  /** The producer has sent this many when a worker is killed: mid-run, with messages in flight. */
  private static final int KILL_AFTER = 80;

  private final String lang;

  SingleLanguageFleet(String lang) {
    this.lang = lang;
  }

  @Override
  public String name() {
    return lang + "-only-fleet";
  }

  @Override
  public void run(Harness h) throws Exception {
    String sc = name();
    String queue = "cf-only-" + lang;
    // As every queue of the suite (token batch 8), with no standing buffer, and an ack wait of
    // 5 s so that the killed worker's messages come back within the scenario.
    h.sluice()
        .provision(
            QueueSpec.builder(queue)
                .tokenBatch(Harness.BATCH)
                .standingBuffer(0)
                .ackWait(Duration.ofSeconds(5))
                .build());
    Fleet f = new Fleet(h, sc, queue);
    List<String> langs = List.of(lang);
    String[] opts = {
      "--concurrency",
      String.valueOf(CONCURRENCY),
      "--prefetch",
      String.valueOf(PREFETCH),
      "--work-ms",
      "20",
      "--grace-ms",
      "1000",
      "--grace-delay-ms",
      "250",
      "--reconciler"
    };
    List<List<String>> specs = new ArrayList<>();
    for (int i = 1; i <= WORKERS; i++) {
      specs.add(spec(spec(lang, lang + "-only-w" + i), opts));
    }
    List<Peer> ws;
    try {
      ws = f.workers(specs);
    } catch (IllegalStateException e) {
      return; // the check "<lang> worker ... starts" failed, with the worker's stderr
    }
    long window = (long) WORKERS * CAPACITY;

    // 1. The fleet's own reconciler mints the window of the fresh queue.
    AtomicReference<String> state = new AtomicReference<>("");
    boolean minted =
        Waits.until(
            () -> {
              QueueInspection in = h.sluice().inspect(queue);
              state.set(describe(in));
              return in.window() == window && in.tokens() == window && holder(in).isPresent();
            },
            Duration.ofSeconds(20),
            "the " + lang + " reconciler to mint the window of " + queue);
    h.check(
        sc,
        lang
            + " reconciler mints the window of a fresh queue with no standing buffer: T = W = "
            + window,
        langs,
        minted,
        state.get());
    if (!minted) {
      return; // no credits: nothing below can run
    }
    long slack = slack(h, f, ws, 2);

    // 2. Load, with a SIGKILL of the lease holder mid-run.
    BacklogSampler backlog = new BacklogSampler(h, queue);
    Peer p1 = f.producer(lang, lang + "-only-p1", MESSAGES, "ok", 0, 1);
    Peer p2 = f.producer(lang, lang + "-only-poison", 3, "poison", 0, 1);
    boolean midRun = p1.await(e -> "sent".equals(e.type()) && e.num("seq") >= KILL_AFTER, 90_000);
    String holderId = holder(h.sluice().inspect(queue)).orElse("");
    Peer victim = ws.stream().filter(w -> w.id.equals(holderId)).findFirst().orElse(ws.get(0));
    victim.kill();
    f.killed.add(victim);
    Report.progress(
        sc + ": SIGKILL " + victim + (victim.id.equals(holderId) ? " (lease holder)" : ""));
    f.awaitProducers(List.of(p1, p2), 120_000);
    backlog.stop();

    // 3. A version no worker handles: dead-lettered unsupported-version after the grace period.
    String v2 = "raw-v2-" + queue;
    publishVersion2(h, queue, v2);
    f.raw.put(v2, "unsupported-version");
    f.awaitOutcomes(60_000);
    f.awaitDrained();

    long maxB = backlog.max.get();
    h.check(
        sc,
        String.format(
            "credit bound: max backlog %d <= W %d + slack %d (%d samples)",
            maxB, window, slack, backlog.samples.get()),
        langs,
        maxB <= window + slack && backlog.samples.get() > 10,
        "");
    h.check(
        sc,
        "the backlog filled the window (producers waited for credits)",
        langs,
        maxB >= window / 2,
        "max backlog " + maxB + ", W " + window);
    h.check(
        sc,
        "a worker was SIGKILLed mid-run (" + victim.id + ", lease holder " + holderId + ")",
        langs,
        midRun && victim.id.equals(holderId),
        midRun ? "" : "the producer never reached seq " + KILL_AFTER);

    // 4. Healing: the killed worker's advert expires, W drops to the survivors' capacity, and the
    // reconciler (the lease moved to a survivor) brings the credits back to exactly B + T = W.
    long healed = (long) (WORKERS - 1) * CAPACITY;
    boolean converged =
        Waits.until(
            () -> {
              QueueInspection in = h.sluice().inspect(queue);
              state.set(describe(in));
              return in.window() == healed
                  && in.backlog() + in.tokens() == healed
                  && holder(in).filter(id -> !id.equals(victim.id)).isPresent();
            },
            Duration.ofSeconds(45),
            "B + T = W = " + healed + " on " + queue);
    h.check(
        sc,
        "after the SIGKILL the credits converge: B + T = W = "
            + healed
            + ", lease held by a survivor",
        langs,
        converged,
        state.get() + "; tokens: " + ControlPlane.tokenDump(h.sluice(), queue, 40));

    checkRecords(h, f);
    f.stopWorkers();
    FleetChecks.verify(f);
    FleetChecks.eachWorkerProcessed(f);
  }

  /** §5.6 slack: Σ workers (b' − 1) from their adverts, plus producers × b. */
  private static long slack(Harness h, Fleet f, List<Peer> ws, int producers) {
    long s = (long) producers * Harness.BATCH;
    for (Peer w : ws) {
      s +=
          ControlPlane.advert(h.sluice(), f.queue, w.id)
              .map(a -> Math.max(0, a.tokenBatch() - 1))
              .orElse(Harness.BATCH - 1);
    }
    return s;
  }

  private static Optional<String> holder(QueueInspection in) {
    return in.reconciler()
        .filter(l -> l.expiresAt().isAfter(in.inspectedAt()))
        .map(ReconcilerLease::holder);
  }

  private static String describe(QueueInspection in) {
    return String.format(
        "W %d, B %d, T %d, owed %d, debt %d, live workers %d, lease %s",
        in.window(),
        in.backlog(),
        in.tokens(),
        in.owed(),
        in.debt(),
        in.liveWorkers().size(),
        in.reconciler().map(ReconcilerLease::holder).orElse("none"));
  }

  /** A valid work message of version 2, which the fleet (handling 1-1) must not process. */
  private static void publishVersion2(Harness h, String queue, String id) throws Exception {
    RawMessages.Raw raw =
        new RawMessages.Raw(
            "unsupported-version", Map.of("Sluice-Type-Version", "2"), JavaPeer.body(900, "ok"));
    h.js.publish(
        NatsMessage.builder()
            .subject("sluice.q." + queue)
            .headers(raw.headers(queue, id))
            .data(raw.body())
            .build());
  }

  /** One record in SLUICE_DLQ per expected dead letter, with its reason; no others. */
  private static void checkRecords(Harness h, Fleet f) throws Exception {
    Map<String, String> expected = new LinkedHashMap<>(f.raw);
    for (Peer p : f.producers) {
      if (f.behavior.get(p).equals("poison")) {
        p.events("sent").forEach(e -> expected.put(e.str("msg_id"), "rejected"));
      }
    }
    Map<String, List<String>> reasons = new HashMap<>();
    for (MessageInfo mi : h.state.deadLetters(f.queue)) {
      reasons
          .computeIfAbsent(
              String.valueOf(DeadLetterRecords.first(mi.getHeaders(), "Sluice-Dlq-Msg-Id")),
              k -> new ArrayList<>())
          .add(String.valueOf(DeadLetterRecords.first(mi.getHeaders(), "Sluice-Dlq-Reason")));
    }
    List<String> bad = new ArrayList<>();
    expected.forEach(
        (id, reason) -> {
          List<String> got = reasons.getOrDefault(id, List.of());
          if (!got.equals(List.of(reason))) {
            bad.add(id + ": records " + got + ", expected [" + reason + "]");
          }
        });
    reasons.keySet().stream()
        .filter(id -> !expected.containsKey(id))
        .forEach(id -> bad.add(id + ": unexpected record " + reasons.get(id)));
    h.check(
        f.scenario,
        f.queue
            + ": poison messages dead-lettered rejected, the version-2 message"
            + " unsupported-version, one record each in SLUICE_DLQ, no others",
        List.of(f.workers.get(0).lang),
        bad.isEmpty() && expected.size() == 4,
        summarize(bad) + " (expected " + expected + ")");
  }
}
