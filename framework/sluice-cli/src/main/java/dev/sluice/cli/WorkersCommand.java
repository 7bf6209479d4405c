package dev.sluice.cli;

import dev.sluice.internal.credit.Window;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.HandledType;
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
    List<CapacityAdvert> adverts = new ArrayList<>();
    for (String q : queues(s, queue)) {
      QueueState st = QueueState.read(s, q);
      for (CapacityAdvert a : st.adverts) {
        if (all || Window.live(a, now)) {
          adverts.add(a);
        }
      }
    }
    adverts.sort(
        Comparator.comparing(CapacityAdvert::getQueue).thenComparing(CapacityAdvert::getWorkerId));
    if (json()) {
      Map<String, Object> m = Json.obj();
      List<Object> ws = new ArrayList<>();
      for (CapacityAdvert a : adverts) {
        ws.add(QueueState.advertJson(a, now));
      }
      m.put("workers", ws);
      printJson(m);
      return ExitCodes.OK;
    }
    if (adverts.isEmpty()) {
      out().println("no live workers" + (queue == null ? "" : " on queue " + queue));
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
    for (CapacityAdvert a : adverts) {
      t.row(
          a.getQueue(),
          a.getWorkerId(),
          QueueState.stateName(a.getState()) + (Window.live(a, now) ? "" : " (expired)"),
          a.getCapacity(),
          a.getInFlight(),
          String.format("%.2f", a.getServiceRate()),
          handled(a),
          a.getProtocolVersion(),
          a.getLanguage(),
          Table.age(Math.max(0, now - a.getHeartbeatUnixMs())) + " ago");
    }
    t.print(out());
    return ExitCodes.OK;
  }

  static String handled(CapacityAdvert a) {
    return a.getHandledList().stream().map(WorkersCommand::range).collect(Collectors.joining(","));
  }

  static String range(HandledType h) {
    return h.getType()
        + "@"
        + (h.getMinVersion() == h.getMaxVersion()
            ? Integer.toString(h.getMinVersion())
            : h.getMinVersion() + "-" + h.getMaxVersion());
  }
}
