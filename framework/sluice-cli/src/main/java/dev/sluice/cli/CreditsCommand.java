package dev.sluice.cli;

import dev.sluice.ProducerReport;
import dev.sluice.ReconcilerLease;
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

  /** The {@code credits --json} document (also the console's {@code /api/queues/Q/credits}). */
  static Map<String, Object> document(List<QueueState> states) {
    List<Object> qs = new ArrayList<>();
    for (QueueState st : states) {
      qs.add(st.creditsJson());
    }
    Map<String, Object> m = Json.obj();
    m.put("queues", qs);
    return m;
  }

  @Override
  int run(Connect.Session s) throws Exception {
    List<QueueState> states = StatusCommand.read(s, queue);
    if (json()) {
      printJson(document(states));
      return ExitCodes.OK;
    }
    if (states.isEmpty()) {
      out().println("no Sluice queues on " + s.url() + " (provision one with 'sluice apply')");
      out().flush();
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
              "DEBT",
              "DEFICIT")
          .row(
              st.window(),
              st.backlog(),
              st.in.tokens(),
              st.in.heldSpent(),
              st.in.heldUnspent(),
              st.creditsAvailable(),
              st.in.owed(),
              st.in.debt(),
              st.in.deficit())
          .print(out());
      String rate = RateLimits.line(st); // §15.2
      if (rate != null) {
        out().println(rate + (RateLimits.bottleneck(st) ? " (the bottleneck now)" : ""));
      }
      if (st.pushbackText() != null) {
        out().println(st.pushbackText() + ": the window shrinks with it");
      }
      if (!st.in.producers().isEmpty()) {
        Table p =
            new Table(
                "PRODUCER", "HELD-SPENT", "HELD-UNSPENT", "WAITING", "SENT", "LANG", "LAST SEEN");
        for (ProducerReport r : st.in.producers()) {
          p.row(
              r.producerId() + (r.live() ? "" : " (expired)"),
              r.heldSpent(),
              r.heldUnspent(),
              r.waiting(),
              r.sentTotal(),
              r.language(),
              Table.age(Math.max(0, st.now - r.heartbeatAt().toEpochMilli())) + " ago");
        }
        p.print(out());
      }
      FairnessView fair = st.fairness();
      if (fair.inUse()) {
        Table k = new Table("FAIRNESS KEY", "WEIGHT", "WAITING", "GRANTED", "SHARE");
        fair.keys.stream()
            .limit(FairnessView.SHOWN)
            .forEach(
                x ->
                    k.row(
                        FairnessView.name(x.key()),
                        x.weightText(),
                        x.waiting(),
                        x.granted(),
                        String.format(java.util.Locale.ROOT, "%.1f%%", x.share() * 100)));
        k.print(out());
        FairnessView.Key d = fair.dominant();
        if (d != null) {
          out()
              .println(
                  "fairness: "
                      + FairnessView.name(d.key())
                      + " holds "
                      + d.waiting()
                      + " of "
                      + fair.waiting
                      + " waiting sends; the other keys are served by weight beside it");
        }
      }
      ReconcilerLease lease = st.in.reconciler().orElse(null);
      if (lease == null) {
        out().println("reconciler: no lease (no worker has audited this queue)");
      } else {
        long in = lease.expiresAt().toEpochMilli() - st.now;
        out()
            .println(
                "reconciler: "
                    + lease.holder()
                    + (in >= 0
                        ? ", expires in " + Table.age(in)
                        : ", expired " + Table.age(-in) + " ago")
                    + ", previous deficit "
                    + lease.previousDeficit());
        if (lease.lastAudit().isPresent()) {
          ReconcilerLease.Audit l = lease.lastAudit().get();
          out()
              .println(
                  "last audit "
                      + Table.age(Math.max(0, st.now - l.at().toEpochMilli()))
                      + " ago: W="
                      + l.window()
                      + " B="
                      + l.backlog()
                      + " T="
                      + l.tokens()
                      + " S="
                      + l.heldSpent()
                      + " O="
                      + l.owed()
                      + " d="
                      + l.deficit()
                      + " minted="
                      + l.minted()
                      + " burned="
                      + l.burned());
        }
      }
      out().flush();
    }
    return ExitCodes.OK;
  }
}
