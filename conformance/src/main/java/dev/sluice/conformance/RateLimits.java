package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;

import dev.sluice.QueueSpec;
import dev.sluice.RateLimit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A fleet-wide rate limit (PROTOCOL.md §15.2) on a mixed fleet: java, go and rust workers whose
 * capacity is far above the rate, and a producer of each language sending as fast as credits allow.
 * Every worker mints within its share, the fleet runs at the rate (within 10%), no one-second
 * window exceeds limit + burst, and nothing is lost.
 */
final class RateLimits implements Scenario {
  static final double LIMIT = 50;
  static final int BURST = 15;
  static final int PER_PRODUCER = 150;

  @Override
  public String name() {
    return "rate-limit";
  }

  @Override
  public void run(Harness h) throws Exception {
    String sc = name();
    String queue = "cf-rate";
    h.sluice()
        .provision(
            QueueSpec.builder(queue).tokenBatch(Harness.BATCH).rateLimit(LIMIT, BURST).build());
    Fleet f = new Fleet(h, sc, queue);
    String[] fast = {"--concurrency", "2", "--prefetch", "2"};
    List<Peer> ws =
        f.workers(
            List.of(
                spec(spec("go", "go-rw1"), fast),
                spec(spec("rust", "rust-rw1"), fast),
                spec(spec("java", "java-rw1"), fast)));
    // Every worker advertises that it mints within the rate, with a share of it.
    Waits.until(
        () ->
            h.sluice()
                .inspect(queue)
                .rateLimit()
                .map(r -> r.shares().size() == ws.size())
                .orElse(false),
        Duration.ofSeconds(15),
        "a rate share in every worker's advert");
    RateLimit rate = h.sluice().inspect(queue).rateLimit().orElseThrow();
    for (Peer w : ws) {
      Double share = rate.shares().get(w.id);
      h.check(
          sc,
          w.lang + " worker advertises rate_limited and mints at its share of the rate",
          List.of(w.lang),
          share != null && share > 0 && share <= LIMIT,
          "shares " + rate.shares() + ", unlimited " + rate.unlimitedWorkers());
    }
    Peer pj = f.producer("java", "java-rp1", PER_PRODUCER, "ok", 0, 1);
    pj.awaitReady(60_000);
    Peer pg = f.producer("go", "go-rp1", PER_PRODUCER, "ok", PER_PRODUCER, 1);
    Peer pr = f.producer("rust", "rust-rp1", PER_PRODUCER, "ok", 2 * PER_PRODUCER, 1);
    f.awaitProducers(List.of(pj, pg, pr), 120_000);
    f.awaitOutcomes(30_000);

    List<Long> times = new ArrayList<>();
    for (Peer w : ws) {
      for (Peer.Event e : w.events("processed")) {
        times.add(e.nanos());
      }
    }
    times.sort(Long::compare);
    Set<String> all = new TreeSet<>(Report.LANGS);
    int max1s = 0;
    int j = 0;
    for (int i = 0; i < times.size(); i++) {
      while (times.get(i) - times.get(j) >= 1_000_000_000L) {
        j++;
      }
      max1s = Math.max(max1s, i - j + 1);
    }
    h.check(
        sc,
        String.format("no one-second window above limit + burst (%.0f)", LIMIT + BURST),
        all,
        max1s <= LIMIT + BURST,
        "busiest second " + max1s + " of " + times.size() + " processed");
    // The rate from the first second on: the first credits are the window's stock.
    double observed = Double.NaN;
    if (times.size() > 2 * LIMIT) {
      long from = times.get(0) + 1_000_000_000L;
      long n = times.stream().filter(t -> t >= from).count();
      observed = n / ((times.get(times.size() - 1) - from) / 1e9);
    }
    h.check(
        sc,
        String.format("the fleet runs at the rate: observed within 10%% of %.0f/s", LIMIT),
        all,
        Math.abs(observed - LIMIT) <= 0.1 * LIMIT,
        String.format("observed %.1f/s", observed));
    Map<String, Double> shares = h.sluice().inspect(queue).rateLimit().orElseThrow().shares();
    h.check(sc, "no worker replenishes without the limit", all, shares.size() == 3, "" + shares);
    f.awaitDrained();
    f.stopWorkers();
    FleetChecks.verify(f);
    FleetChecks.eachWorkerProcessed(f);
  }
}
