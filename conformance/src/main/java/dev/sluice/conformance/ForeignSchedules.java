package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Go producer schedules messages (PROTOCOL.md §13.3); a Java worker that also fires schedules
 * runs each once, not before it is due, continuing the trace of the scheduling call.
 */
final class ForeignSchedules implements Scenario {
  static final int COUNT = 20;
  static final long DELAY_MS = 2_000;

  @Override
  public String name() {
    return "go-schedules-java-fires";
  }

  @Override
  public void run(Harness h) throws Exception {
    Fleet f = h.fleet(name(), "cf-sched", 0);
    f.workers(List.of(spec("java", "java-w1", "--fire-schedules")));
    Peer g =
        h.launcher.start(
            "go",
            "producer",
            "go-s1",
            List.of(
                "schedule",
                "--server",
                h.url,
                "--queue",
                f.queue,
                "--producer-id",
                "go-s1",
                "--count",
                String.valueOf(COUNT),
                "--delay-ms",
                String.valueOf(DELAY_MS)));
    Integer code = g.awaitExit(60_000);
    List<Peer.Event> scheduled = g.events("scheduled");
    h.check(
        name(),
        "go peer stores " + COUNT + " schedules and exits 0",
        List.of("go"),
        code != null && code == 0 && scheduled.size() == COUNT,
        "exit " + code + ", scheduled " + scheduled.size() + "; stderr: " + g.stderrTail(3));

    Peer w = f.workers.get(0);
    Waits.until(
        () -> w.events("processed").size() >= scheduled.size(),
        java.time.Duration.ofSeconds(60),
        "every scheduled message processed on " + f.queue);
    Map<String, Peer.Event> byId = new HashMap<>();
    int twice = 0;
    for (Peer.Event e : w.events("processed")) {
      if (byId.put(e.str("msg_id"), e) != null) {
        twice++;
      }
    }
    int missing = 0;
    int early = 0;
    int traceBroken = 0;
    for (Peer.Event s : scheduled) {
      Peer.Event p = byId.get(s.str("msg_id"));
      if (p == null) {
        missing++;
        continue;
      }
      // Receive times are the runner's: a message handled before its due time would show up
      // less than the delay after the schedule was acknowledged (100 ms for clock granularity).
      if ((p.nanos() - s.nanos()) / 1_000_000 < DELAY_MS - 100) {
        early++;
      }
      if (!s.str("trace_id").equals(p.str("trace_id"))) {
        traceBroken++;
      }
    }
    h.check(
        name(),
        "java worker runs every go schedule once, when due, on the scheduling trace",
        List.of("go", "java"),
        missing == 0 && twice == 0 && early == 0 && traceBroken == 0,
        "missing " + missing + ", twice " + twice + ", early " + early + ", trace " + traceBroken);
    f.stopWorkers();
  }
}
