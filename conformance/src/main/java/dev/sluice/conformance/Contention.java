package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Three producers of three languages contend for the credits of one small window while workers of
 * three languages drain slowly; the backlog is sampled all along: B ≤ W + slack (§5.6).
 */
final class Contention implements Scenario {
  private static final int CONCURRENCY = 2;
  private static final int PREFETCH = 2;

  @Override
  public String name() {
    return "contention-and-credit-bound";
  }

  @Override
  public void run(Harness h) throws Exception {
    String sc = name();
    Fleet f = h.fleet(sc, "cf-contend", 0);
    String[] slow = {"--concurrency", "2", "--prefetch", "2", "--work-ms", "40"};
    List<Peer> ws =
        f.workers(
            List.of(
                spec(spec("go", "go-w1"), slow),
                spec(spec("rust", "rust-w1"), slow),
                spec(spec("java", "java-w1"), slow)));
    int window = ws.size() * (CONCURRENCY + PREFETCH);
    int slack = ws.size() * (Harness.BATCH - 1);
    checkAdverts(h, f, ws);
    BacklogSampler backlog = new BacklogSampler(h, f.queue);
    int n = 160;
    // The JVM starts seconds after a Go or Rust binary on a loaded machine: start it first and
    // let it connect, so that all three really contend (the check below needs an overlap).
    Peer pj = f.producer("java", "java-p1", n, "ok", 0, 1);
    pj.awaitReady(60_000);
    Peer pg = f.producer("go", "go-p1", n, "ok", 0, 1);
    Peer pr = f.producer("rust", "rust-p1", n, "ok", 0, 1);
    List<Peer> ps = List.of(pj, pg, pr);
    f.awaitProducers(ps, 120_000);
    backlog.stop();
    f.awaitOutcomes(30_000);
    checkShares(h, sc, ps);
    Set<String> all = new TreeSet<>(Report.LANGS);
    long maxB = backlog.max.get();
    long samples = backlog.samples.get();
    h.check(
        sc,
        String.format(
            "credit bound: max backlog %d <= W %d + slack %d (%d samples)",
            maxB, window, slack, samples),
        all,
        maxB <= window + slack && samples > 10,
        "");
    h.check(
        sc,
        "the backlog filled the window (producers really waited for credits)",
        all,
        maxB >= window / 2,
        "max backlog " + maxB + ", W " + window);
    f.awaitDrained();
    f.stopWorkers();
    FleetChecks.verify(f);
    FleetChecks.eachWorkerProcessed(f);
  }

  /** Adverts (§5.2): each worker advertises concurrency + prefetch, RUNNING, live. */
  private static void checkAdverts(Harness h, Fleet f, List<Peer> ws) throws Exception {
    // A worker may print ready before its first RUNNING advert is stored.
    for (Peer p : ws) {
      Waits.until(
          () -> ControlPlane.advert(h.sluice(), f.queue, p.id).filter(a -> a.running()).isPresent(),
          Duration.ofSeconds(10),
          "a RUNNING advert of " + p);
    }
    for (Peer p : ws) {
      Optional<ControlPlane.Advert> advert = ControlPlane.advert(h.sluice(), f.queue, p.id);
      boolean ok;
      String detail;
      if (advert.isEmpty()) {
        ok = false;
        detail = "no advert at " + f.queue + "." + p.id;
      } else {
        ControlPlane.Advert a = advert.get();
        ok =
            a.capacity() == CONCURRENCY + PREFETCH
                && a.running()
                && a.liveAt(System.currentTimeMillis())
                && a.workerId().equals(p.id)
                && a.handled().stream()
                    .anyMatch(t -> t.type().equals(Harness.TYPE) && t.minVersion() == 1);
        detail =
            "capacity "
                + a.capacity()
                + ", state "
                + a.state()
                + ", ttl "
                + a.ttlMs()
                + ", language "
                + a.language()
                + ", token_batch "
                + a.tokenBatch();
      }
      h.check(
          f.scenario,
          p.lang + " worker advertises capacity concurrency+prefetch, RUNNING, live",
          List.of(p.lang),
          ok,
          detail);
    }
  }

  /**
   * The three producers were sending at the same time, and while all three were, each got a share
   * of the credits (at least 3 sends).
   */
  private static void checkShares(Harness h, String sc, List<Peer> ps) {
    long latestFirst = Long.MIN_VALUE;
    long earliestLast = Long.MAX_VALUE;
    long t0 = Long.MAX_VALUE;
    for (Peer p : ps) {
      List<Peer.Event> s = p.events("sent");
      if (s.isEmpty()) {
        continue;
      }
      t0 = Math.min(t0, s.get(0).nanos());
      latestFirst = Math.max(latestFirst, s.get(0).nanos());
      earliestLast = Math.min(earliestLast, s.get(s.size() - 1).nanos());
    }
    StringBuilder spans = new StringBuilder();
    boolean shared = latestFirst < earliestLast;
    for (Peer p : ps) {
      List<Peer.Event> s = p.events("sent");
      if (s.isEmpty()) {
        shared = false;
        continue;
      }
      final long lo = latestFirst;
      final long hi = earliestLast;
      long inOverlap = s.stream().filter(e -> e.nanos() >= lo && e.nanos() <= hi).count();
      spans.append(
          String.format(
              "%s sent %.2f-%.2f s, %d while all sent; ",
              p.lang,
              (s.get(0).nanos() - t0) / 1e9,
              (s.get(s.size() - 1).nanos() - t0) / 1e9,
              inOverlap));
      shared &= inOverlap >= 3;
    }
    h.check(
        sc,
        "java, go and rust producers sent concurrently, each getting credits (>= 3 sends while all"
            + " three were sending)",
        Report.LANGS,
        shared,
        spans + String.format("overlap %.2f s", (earliestLast - latestFirst) / 1e9));
  }
}
