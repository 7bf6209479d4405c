package dev.sluice.conformance;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The checks the scheduling scenarios share (PROTOCOL.md §13): a {@code schedule} role stored
 * everything it was asked to, and every scheduled message ran exactly once, not before it was due,
 * on the trace of the scheduling call.
 */
final class ScheduleChecks {
  /** Slack for a peer's delay: the entry's due time against the runner seeing it stored. */
  static final long DUE_SLACK_MS = 1_000;

  /**
   * Rounding of {@link #wallMs}: two clock readings truncated to whole milliseconds. A message
   * fired more than this before its due time counts as early.
   */
  static final long CLOCK_SLACK_MS = 2;

  private ScheduleChecks() {}

  /**
   * Starts {@code lang}'s {@code schedule} role on {@code queue}: {@code count} one-shot schedules
   * due {@code delayMs} after each is stored, plus {@code extra} flags.
   */
  static Peer start(
      Harness h, String lang, String id, String queue, int count, long delayMs, String... extra)
      throws Exception {
    List<String> args =
        new ArrayList<>(
            List.of(
                "schedule",
                "--server",
                h.url,
                "--queue",
                queue,
                "--producer-id",
                id,
                "--count",
                String.valueOf(count),
                "--delay-ms",
                String.valueOf(delayMs)));
    args.addAll(List.of(extra));
    return h.launcher.start(lang, "producer", id, args);
  }

  /**
   * Waits until {@code s} printed {@code count} {@code scheduled} events, then checks that each
   * carries a due time about {@code delayMs} after the runner saw it and that {@code s} printed no
   * error. Returns the events.
   */
  static List<Peer.Event> stored(
      Harness h, String scenario, Peer s, int count, long delayMs, long timeoutMs) {
    Waits.until(
        () -> s.events("scheduled").size() >= count || !s.alive(),
        Duration.ofMillis(timeoutMs),
        s.lang + " peer " + s.id + " to store its schedules");
    List<Peer.Event> scheduled = s.events("scheduled");
    int badDue = 0;
    for (Peer.Event e : scheduled) {
      if (e.num("due_unix_ms") < wallMs(e) + delayMs - DUE_SLACK_MS) {
        badDue++;
      }
    }
    boolean ok = scheduled.size() == count && badDue == 0 && s.events("error").isEmpty();
    h.check(
        scenario,
        s.lang + " peer " + s.id + " stores " + count + " schedules due " + delayMs + " ms ahead",
        List.of(s.lang),
        ok,
        ok
            ? ""
            : "scheduled "
                + scheduled.size()
                + ", due too soon "
                + badDue
                + "; stderr: "
                + s.stderrTail(3));
    return scheduled;
  }

  /**
   * Waits until {@code workers} processed every message in {@code scheduled}, then checks that each
   * ran exactly once, no sooner than its {@code due_unix_ms} (the runner's receive time of the
   * {@code processed} event, on the same clock), on the trace id of its {@code scheduled} event.
   */
  static void ranOnceWhenDue(
      Harness h,
      String scenario,
      String what,
      List<Peer.Event> scheduled,
      Collection<Peer> workers,
      Collection<String> langs) {
    Waits.until(
        () -> processed(workers, scheduled).size() >= scheduled.size(),
        Duration.ofSeconds(60),
        "every scheduled message processed (" + what + ")");
    Map<String, Peer.Event> byId = new HashMap<>();
    int twice = 0;
    for (Peer.Event e : processed(workers, scheduled)) {
      if (byId.put(e.str("msg_id"), e) != null) {
        twice++;
      }
    }
    int missing = 0;
    int early = 0;
    int traceBroken = 0;
    long worstEarlyMs = 0;
    for (Peer.Event s : scheduled) {
      Peer.Event p = byId.get(s.str("msg_id"));
      if (p == null) {
        missing++;
        continue;
      }
      long aheadMs = s.num("due_unix_ms") - wallMs(p);
      if (aheadMs > CLOCK_SLACK_MS) {
        early++;
        worstEarlyMs = Math.max(worstEarlyMs, aheadMs);
      }
      if (!s.str("trace_id").equals(p.str("trace_id"))) {
        traceBroken++;
      }
    }
    h.check(
        scenario,
        what,
        new TreeSet<>(langs),
        missing == 0 && twice == 0 && early == 0 && traceBroken == 0,
        "missing "
            + missing
            + ", twice "
            + twice
            + ", early "
            + early
            + (early > 0 ? " (up to " + worstEarlyMs + " ms)" : "")
            + ", trace "
            + traceBroken);
  }

  /**
   * Waits for {@code s} to exit and checks that it exited 0 after a {@code done} event counting
   * {@code count} stored schedules and, for a Java peer run with {@code --fire}, {@code count}
   * fired messages.
   */
  static void exited(Harness h, String scenario, Peer s, int count, boolean fires)
      throws InterruptedException {
    Integer code = s.awaitExit(Launcher.STOP_TIMEOUT_MS);
    if (code == null) {
      s.kill();
    }
    List<Peer.Event> done = s.events("done");
    long sent = done.isEmpty() ? -1 : done.get(0).num("sent");
    long fired = done.isEmpty() ? -1 : done.get(0).num("fired");
    boolean ok = code != null && code == 0 && sent == count && (!fires || fired == count);
    h.check(
        scenario,
        s.lang
            + " peer "
            + s.id
            + " exits 0 after done ("
            + count
            + (fires ? " stored, " + count + " fired)" : " stored)"),
        List.of(s.lang),
        ok,
        ok
            ? ""
            : "exit "
                + code
                + ", sent "
                + sent
                + (fires ? ", fired " + fired : "")
                + "; stderr: "
                + s.stderrTail(3));
  }

  /** The {@code processed} events of {@code workers} for the messages in {@code scheduled}. */
  private static List<Peer.Event> processed(Collection<Peer> workers, List<Peer.Event> scheduled) {
    Set<String> ids = new HashSet<>();
    scheduled.forEach(e -> ids.add(e.str("msg_id")));
    List<Peer.Event> out = new ArrayList<>();
    for (Peer w : workers) {
      for (Peer.Event e : w.events("processed")) {
        if (ids.contains(e.str("msg_id"))) {
          out.add(e);
        }
      }
    }
    return out;
  }

  /** When the runner received {@code e}, Unix milliseconds on this machine's clock. */
  static long wallMs(Peer.Event e) {
    return System.currentTimeMillis() - (System.nanoTime() - e.nanos()) / 1_000_000;
  }
}
