package dev.sluice.cli;

import dev.sluice.WorkerAdvert;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "workers", description = "Each live worker's capacity advert.")
final class WorkersCommand extends BaseCommand {
  @Parameters(index = "0", arity = "0..1", paramLabel = "QUEUE", description = "One queue.")
  String queue;

  @Option(names = "--all", description = "Also show expired adverts (live = false).")
  boolean all;

  @Override
  int run(Connect.Session s) throws Exception {
    long now = System.currentTimeMillis();
    List<WorkerAdvert> adverts = adverts(s, queue, all);
    if (json()) {
      printJson(document(adverts, now));
      return ExitCodes.OK;
    }
    if (adverts.isEmpty()) {
      String where = queue == null ? "" : " on queue " + queue;
      out()
          .println(
              all
                  ? "no worker adverts"
                      + where
                      + " (a worker that stops cleanly withdraws its advert; a crashed one's"
                      + " stays until its TTL)"
                  : "no live workers" + where + " (--all also shows expired adverts)");
      out().flush();
      return ExitCodes.OK;
    }
    Table t =
        new Table(
            "QUEUE",
            "WORKER",
            "STATE",
            "CAPACITY",
            "IN-FLIGHT",
            "RATE/S",
            "HANDLES",
            "PROTO",
            "LANG",
            "LAST SEEN");
    for (WorkerAdvert a : adverts) {
      t.row(
          a.queue(),
          a.workerId(),
          QueueState.stateName(a.state()) + (a.live() ? "" : " (expired)"),
          capacity(a),
          a.inFlight(),
          String.format("%.2f", a.serviceRate()),
          handled(a),
          a.protocolVersion(),
          a.language(),
          Table.age(Math.max(0, now - a.heartbeatAt().toEpochMilli())) + " ago");
    }
    t.print(out());
    for (WorkerAdvert a : adverts) {
      for (String line : a.problem().lines().toList()) {
        out().println("worker " + a.workerId() + " (" + a.queue() + ") is failing: " + line);
      }
    }
    out().flush();
    return ExitCodes.OK;
  }

  /** The adverts of {@code queue} (or every queue), live ones only unless {@code all}. */
  static List<WorkerAdvert> adverts(Connect.Session s, String queue, boolean all) throws Exception {
    List<WorkerAdvert> adverts = new ArrayList<>();
    for (String q : queues(s, queue)) {
      QueueState st = QueueState.read(s, q);
      for (WorkerAdvert a : st.in.workers()) {
        if (all || a.live()) {
          adverts.add(a);
        }
      }
    }
    adverts.sort(Comparator.comparing(WorkerAdvert::queue).thenComparing(WorkerAdvert::workerId));
    return adverts;
  }

  /** The {@code workers --json} document (also the console's {@code /api/queues/Q/workers}). */
  static Map<String, Object> document(List<WorkerAdvert> adverts, long now) {
    Map<String, Object> m = Json.obj();
    List<Object> ws = new ArrayList<>();
    for (WorkerAdvert a : adverts) {
      ws.add(QueueState.advertJson(a, now));
    }
    m.put("workers", ws);
    return m;
  }

  /** The capacity, as "3 of 16 (pushback)" while lowered by pushback (PROTOCOL.md §15.1). */
  static String capacity(WorkerAdvert a) {
    return a.loweredByPushback()
        ? a.capacity() + " of " + a.pushback().nominalCapacity() + " (pushback)"
        : Long.toString(a.capacity());
  }

  static String handled(WorkerAdvert a) {
    return a.handled().stream().map(WorkersCommand::range).collect(Collectors.joining(","));
  }

  static String range(WorkerAdvert.HandledType h) {
    return h.type()
        + "@"
        + (h.minVersion() == h.maxVersion()
            ? Integer.toString(h.minVersion())
            : h.minVersion() + "-" + h.maxVersion());
  }
}
