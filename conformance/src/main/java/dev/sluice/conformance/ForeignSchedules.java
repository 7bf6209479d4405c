package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;

import java.util.ArrayList;
import java.util.List;

/**
 * A Go and a Rust producer schedule messages on one queue (PROTOCOL.md §13.3); a Java worker that
 * also fires schedules runs each once, not before it is due, continuing the trace of the scheduling
 * call.
 */
final class ForeignSchedules implements Scenario {
  static final int COUNT = 20;
  static final long DELAY_MS = 2_000;

  @Override
  public String name() {
    return "go-rust-schedule-java-fires";
  }

  @Override
  public void run(Harness h) throws Exception {
    Fleet f = h.fleet(name(), "cf-sched", 0);
    f.workers(List.of(spec("java", "java-w1", "--fire-schedules")));
    Peer w = f.workers.get(0);
    List<Peer> schedulers = new ArrayList<>();
    for (String lang : List.of("go", "rust")) {
      schedulers.add(ScheduleChecks.start(h, lang, lang + "-s1", f.queue, COUNT, DELAY_MS));
    }
    for (Peer s : schedulers) {
      List<Peer.Event> scheduled = ScheduleChecks.stored(h, name(), s, COUNT, DELAY_MS, 60_000);
      ScheduleChecks.exited(h, name(), s, COUNT, false);
      ScheduleChecks.ranOnceWhenDue(
          h,
          name(),
          "java worker runs every " + s.lang + " schedule once, when due, on the scheduling trace",
          scheduled,
          List.of(w),
          List.of(s.lang, "java"));
    }
    f.stopWorkers();
  }
}
