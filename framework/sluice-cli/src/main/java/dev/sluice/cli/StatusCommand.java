package dev.sluice.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "status",
    description = {
      "Backlog, in flight, credits, workers, dead letters and health of each queue.",
      "Exit code 1 when a queue is stuck, degraded or has no workers."
    })
final class StatusCommand extends BaseCommand {
  @Parameters(index = "0", arity = "0..1", paramLabel = "QUEUE", description = "One queue.")
  String queue;

  @Option(
      names = "--stuck-after",
      defaultValue = "30s",
      converter = SluiceCli.DurationConverter.class,
      description =
          "A backlog with no message finished for this long is stuck (default ${DEFAULT-VALUE}).")
  Duration stuckAfter;

  @Override
  int run(Connect.Session s) throws Exception {
    List<QueueState> states = read(s, queue);
    render(states, stuckAfter.toMillis(), json(), s, this, root().terminal(), false);
    return anyUnhealthy(states, stuckAfter.toMillis()) ? ExitCodes.FINDING : ExitCodes.OK;
  }

  static List<QueueState> read(Connect.Session s, String queue) throws Exception {
    List<QueueState> states = new ArrayList<>();
    for (String q : queues(s, queue)) {
      states.add(QueueState.read(s, q));
    }
    return states;
  }

  static boolean anyUnhealthy(List<QueueState> states, long stuckAfterMs) {
    return states.stream().anyMatch(st -> QueueState.unhealthy(st.health(stuckAfterMs)));
  }

  /** The {@code status --json} document (also the console's {@code GET /api/queues}). */
  static Map<String, Object> document(
      List<QueueState> states, long stuckAfterMs, Connect.Session s) {
    Map<String, Object> m = Json.obj();
    m.put("server", s.url());
    m.put("time_unix_ms", System.currentTimeMillis());
    List<Object> qs = new ArrayList<>();
    for (QueueState st : states) {
      Map<String, Object> q = st.statusJson(stuckAfterMs);
      q.put("scheduled", ScheduledCommand.summaryJson(s, st.queue));
      qs.add(q);
    }
    m.put("queues", qs);
    return m;
  }

  /**
   * Prints the status of {@code states}: JSON, or a table whose health column is coloured when
   * {@code term} allows it, each line cut to the terminal's width when {@code fit} is set.
   */
  static void render(
      List<QueueState> states,
      long stuckAfterMs,
      boolean json,
      Connect.Session s,
      BaseCommand c,
      Terminal term,
      boolean fit) {
    if (json) {
      c.printJson(document(states, stuckAfterMs, s));
      return;
    }
    if (states.isEmpty()) {
      c.out().println("no Sluice queues on " + s.url() + " (provision one with 'sluice apply')");
      c.out().flush();
      return;
    }
    Table t =
        new Table(
            "QUEUE",
            "HEALTH",
            "BACKLOG",
            "IN-FLIGHT",
            "REDELIVERED",
            "OLDEST",
            "WINDOW",
            "CREDITS",
            "HELD",
            "WAITING",
            "WORKERS",
            "DLQ",
            "LIMIT",
            "SCHEDULED");
    for (QueueState st : states) {
      t.row(
          st.queue,
          st.health(stuckAfterMs),
          st.backlog(),
          st.inFlight(),
          st.redelivered(),
          Table.age(st.oldestAgeMs()),
          st.window(),
          st.creditsAvailable(),
          st.in.heldSpent() + st.in.heldUnspent(),
          st.waiting(),
          workers(st),
          st.deadLetters(),
          st.hardLimit(),
          ScheduledCommand.cell(ScheduledCommand.summaryJson(s, st.queue)));
    }
    if (term.colour()) {
      t.colour(1, Terminal::healthColour);
    }
    t.print(c.out(), fit ? term.width() : 0);
    for (QueueState st : states) {
      String rate = RateLimits.line(st); // §15.2
      if (rate != null) {
        c.out().println(st.queue + ": " + rate);
      }
      FairnessView fair = st.fairness();
      if (fair.inUse()) {
        c.out().println(fair.line(st.queue));
      }
      String pushback = st.pushbackText();
      if (pushback != null) {
        c.out().println("queue " + st.queue + ": " + pushback);
      }
    }
    c.out().flush();
  }

  /** Live workers, with how many of them report themselves failing. */
  static String workers(QueueState st) {
    int failing = st.failingWorkers().size();
    return st.liveWorkers() + (failing == 0 ? "" : " (" + failing + " failing)");
  }
}
