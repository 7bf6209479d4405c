package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The reverse of {@link ForeignSchedules}: a Java producer schedules messages with {@code sendAt}
 * and a Java {@code Scheduler} in the same process fires them (PROTOCOL.md §13.3, §13.4); a Go
 * worker on one queue and a Rust worker on another run each once, not before it is due, continuing
 * the trace of the scheduling call.
 *
 * <p>The Go and Rust workers run no reconciler, so each queue is provisioned with a standing buffer
 * of the worker's capacity (4 + 4): the firer spends those credits and the worker replenishes them.
 */
final class JavaSchedulesForeignWorkers implements Scenario {
  static final int COUNT = 20;
  static final long DELAY_MS = 2_000;
  static final int CAPACITY = 8;

  @Override
  public String name() {
    return "java-schedules-go-rust-work";
  }

  @Override
  public void run(Harness h) throws Exception {
    Map<Fleet, Peer> firers = new LinkedHashMap<>();
    List<Fleet> fleets = new ArrayList<>();
    for (String lang : List.of("go", "rust")) {
      Fleet f = h.fleet(name(), "cf-jsched-" + lang, CAPACITY);
      f.workers(List.of(spec(lang, lang + "-w1")));
      fleets.add(f);
    }
    // Both Java processes at once: a JVM takes seconds to start on a loaded machine.
    for (Fleet f : fleets) {
      String id = "java-s-" + f.workers.get(0).lang;
      firers.put(f, ScheduleChecks.start(h, "java", id, f.queue, COUNT, DELAY_MS, "--fire"));
    }
    for (Fleet f : fleets) {
      Peer w = f.workers.get(0);
      List<Peer.Event> scheduled =
          ScheduleChecks.stored(h, name(), firers.get(f), COUNT, DELAY_MS, 90_000);
      ScheduleChecks.ranOnceWhenDue(
          h,
          name(),
          w.lang + " worker runs every java schedule once, when due, on the scheduling trace",
          scheduled,
          List.of(w),
          List.of("java", w.lang));
    }
    for (Fleet f : fleets) {
      Peer s = firers.get(f);
      s.terminate();
      ScheduleChecks.exited(h, name(), s, COUNT, true);
      Set<String> langs = new TreeSet<>(f.workerLangs());
      langs.add("java");
      boolean drained = f.awaitDrained();
      h.check(
          name(),
          "work stream SLUICE_Q_" + f.queue + " empty after the scheduled messages ran",
          langs,
          drained,
          drained ? "" : "backlog " + h.state.backlog(f.queue));
      f.stopWorkers();
    }
  }
}
