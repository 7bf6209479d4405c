package dev.sluice.cli;

import dev.sluice.internal.proto.Ledger;
import dev.sluice.internal.proto.ProducerReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
    name = "credits",
    description =
        "Window, backlog, tokens, credits held per producer and the reconciler lease (§5).")
final class CreditsCommand extends BaseCommand {
  @Parameters(index = "0", arity = "0..1", paramLabel = "QUEUE", description = "One queue.")
  String queue;

  @Override
  int run(Connect.Session s) throws Exception {
    List<QueueState> states = StatusCommand.read(s, queue);
    if (json()) {
      List<Object> qs = new ArrayList<>();
      for (QueueState st : states) {
        qs.add(st.creditsJson());
      }
      Map<String, Object> m = Json.obj();
      m.put("queues", qs);
      printJson(m);
      return ExitCodes.OK;
    }
    boolean first = true;
    for (QueueState st : states) {
      if (!first) {
        out().println();
      }
      first = false;
      out().println("queue " + st.queue);
      new Table(
              "WINDOW",
              "BACKLOG",
              "TOKENS",
              "HELD-SPENT",
              "HELD-UNSPENT",
              "AVAILABLE",
              "OWED",
              "DEFICIT")
          .row(
              st.window(),
              st.backlog(),
              st.tokens,
              st.heldSpent(),
              st.heldUnspent(),
              st.creditsAvailable(),
              st.owed(),
              st.deficit())
          .print(out());
      if (!st.producers.isEmpty()) {
        Table p =
            new Table(
                "PRODUCER", "HELD-SPENT", "HELD-UNSPENT", "WAITING", "SENT", "LANG", "LAST SEEN");
        for (ProducerReport r : st.producers) {
          p.row(
              r.getProducerId()
                  + (dev.sluice.internal.credit.Window.live(r, st.now) ? "" : " (expired)"),
              r.getHeldSpent(),
              r.getHeldUnspent(),
              r.getWaiting(),
              r.getSentTotal(),
              r.getLanguage(),
              Table.age(Math.max(0, st.now - r.getHeartbeatUnixMs())) + " ago");
        }
        p.print(out());
      }
      if (st.lease == null) {
        out().println("reconciler: no lease (no worker has audited this queue)");
      } else {
        long in = st.lease.getExpiresUnixMs() - st.now;
        out()
            .println(
                "reconciler: "
                    + st.lease.getHolder()
                    + (in >= 0
                        ? ", expires in " + Table.age(in)
                        : ", expired " + Table.age(-in) + " ago")
                    + ", previous deficit "
                    + st.lease.getPreviousDeficit());
        if (st.lease.hasLast()) {
          Ledger l = st.lease.getLast();
          out()
              .println(
                  "last audit "
                      + Table.age(Math.max(0, st.now - l.getAuditUnixMs()))
                      + " ago: W="
                      + l.getWindow()
                      + " B="
                      + l.getBacklog()
                      + " T="
                      + l.getTokens()
                      + " S="
                      + l.getHeldSpent()
                      + " O="
                      + l.getOwed()
                      + " d="
                      + l.getDeficit()
                      + " minted="
                      + l.getMinted()
                      + " burned="
                      + l.getBurned());
        }
      }
      out().flush();
    }
    return ExitCodes.OK;
  }
}
