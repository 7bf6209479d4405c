package dev.sluice.cli;

import dev.sluice.ConsumerStatus;
import dev.sluice.SluiceHeaders;
import dev.sluice.StoredMessage;
import dev.sluice.WorkerAdvert;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "explain",
    description = {
      "Name what is wrong with a queue and what to do about it.",
      "Exit code 1 when there is a finding, 0 when nothing is wrong."
    })
final class ExplainCommand extends BaseCommand {
  @Parameters(index = "0", paramLabel = "QUEUE", description = "The queue.")
  String queue;

  @Option(
      names = "--stuck-after",
      defaultValue = "30s",
      converter = SluiceCli.DurationConverter.class,
      description =
          "A backlog with no message finished for this long is stuck (default ${DEFAULT-VALUE}).")
  Duration stuckAfter;

  @Option(
      names = "--sample",
      defaultValue = "200",
      description = "Messages inspected for types and versions (default ${DEFAULT-VALUE}).")
  int sample;

  record Finding(String code, String summary, String action) {
    Map<String, Object> json() {
      Map<String, Object> m = Json.obj();
      m.put("code", code);
      m.put("summary", summary);
      m.put("action", action);
      return m;
    }
  }

  @Override
  int run(Connect.Session s) throws Exception {
    QueueState st = QueueState.read(s, queue);
    long stuckMs = stuckAfter.toMillis();
    List<Finding> findings = findings(s, st, stuckMs, sample);
    if (json()) {
      printJson(document(st, findings, stuckMs));
    } else {
      out()
          .println(
              "queue "
                  + queue
                  + ": "
                  + st.health(stuckMs)
                  + " (backlog "
                  + st.backlog()
                  + ", in flight "
                  + st.inFlight()
                  + ", window "
                  + st.window()
                  + ", live workers "
                  + st.liveWorkers()
                  + ")");
      if (findings.isEmpty()) {
        out().println("nothing wrong found");
      }
      int i = 1;
      for (Finding f : findings) {
        out().println((i++) + ". [" + f.code() + "] " + f.summary());
        out().println("   what to do: " + f.action());
      }
      out().flush();
    }
    return findings.isEmpty() ? ExitCodes.OK : ExitCodes.FINDING;
  }

  /** The findings for {@code st}, sampling up to {@code sample} stored messages. */
  static List<Finding> findings(Connect.Session s, QueueState st, long stuckMs, int sample) {
    List<StoredMessage> msgs =
        st.backlog() == 0 ? List.of() : s.sluice().peek(st.queue, 0, Math.max(1, sample));
    return findings(st, msgs, stuckMs);
  }

  /** The {@code explain --json} document (also the console's {@code /api/queues/Q/explain}). */
  static Map<String, Object> document(QueueState st, List<Finding> findings, long stuckMs) {
    Map<String, Object> m = Json.obj();
    m.put("queue", st.queue);
    m.put("health", st.health(stuckMs));
    m.put("status", st.statusJson(stuckMs));
    List<Object> fs = new ArrayList<>();
    for (Finding f : findings) {
      fs.add(f.json());
    }
    m.put("findings", fs);
    return m;
  }

  static List<Finding> findings(QueueState st, List<StoredMessage> msgs, long stuckMs) {
    String q = st.queue;
    List<Finding> out = new ArrayList<>();
    ConsumerStatus consumer = st.in.workerConsumer().orElse(null);
    if (consumer == null) {
      out.add(
          new Finding(
              "consumer-missing",
              "the worker consumer 'workers' on stream SLUICE_Q_"
                  + q
                  + " does not exist, so no worker can pull",
              "recreate it with 'sluice apply' (or Sluice.provision(QueueSpec.of(\""
                  + q
                  + "\")))"));
    } else if (st.consumerPaused()) {
      out.add(
          new Finding(
              "consumer-paused",
              "the worker consumer is paused"
                  + consumer
                      .pauseRemaining()
                      .map(d -> " for another " + Table.age(d.toMillis()))
                      .orElse(""),
              "resume it: nats consumer resume SLUICE_Q_" + q + " workers"));
    }
    if (st.liveWorkers() == 0) {
      long expired = st.in.workers().size();
      out.add(
          new Finding(
              "no-workers",
              "no live worker advertises capacity for "
                  + q
                  + (expired > 0 ? " (" + expired + " expired adverts)" : "")
                  + "; "
                  + st.backlog()
                  + " messages wait and producers get only the standing buffer ("
                  + st.standingBuffer()
                  + ")",
              "start a worker for queue " + q + "; if one runs, check its log for errors"));
    } else if (st.window() == 0) {
      out.add(
          new Finding(
              "no-credits",
              "the window is 0: "
                  + st.circuitOpen()
                  + " live workers have an open circuit and the others are draining or not"
                  + " running, so no credits are issued",
              "look at the workers' handler errors ('sluice workers "
                  + q
                  + "'); the circuit"
                  + " closes after a successful probe"));
    } else if (RateLimits.bottleneck(st)) {
      out.add(RateLimits.bottleneckFinding(st)); // §15.2
    } else if (st.waiting() > 0 && st.creditsAvailable() == 0) {
      out.add(
          new Finding(
              "no-credits",
              "producers wait for credits ("
                  + st.waiting()
                  + " sends) and none are available: window "
                  + st.window()
                  + ", backlog "
                  + st.backlog()
                  + ", tokens "
                  + st.in.tokens()
                  + " of which held by producers "
                  + (st.in.heldSpent() + st.in.heldUnspent())
                  + (st.finishing(stuckMs)
                      ? " (workers are finishing messages: this is back-pressure)"
                      : "; workers finish nothing, so no credits return"),
              st.finishing(stuckMs)
                  ? "add workers or capacity if the wait is too long"
                  : "see why the workers finish nothing (handlers blocked or failing); 'sluice"
                      + " credits "
                      + q
                      + "' shows the ledger"));
    }
    Finding unlimited = RateLimits.unlimitedFinding(st); // §15.2
    if (unlimited != null) {
      out.add(unlimited);
    }
    String pushback = st.pushbackText();
    if (pushback != null) {
      out.add(
          new Finding(
              "pushback",
              pushback
                  + ": their handlers report the downstream overloaded, so producers get fewer"
                  + " credits; the capacity grows back by 1 a second while handlers succeed",
              "nothing, if it passes; if it lasts, give the downstream more capacity or lower its"
                  + " load elsewhere ('sluice workers "
                  + q
                  + "' shows each worker's capacity)"));
    }
    Finding failing = WorkerProblems.finding(st);
    if (failing != null) {
      out.add(failing);
    }
    if (st.in.atHardLimit()) {
      out.add(
          new Finding(
              "hard-limit",
              "the work stream holds "
                  + st.backlog()
                  + " messages, its hard limit (max_msgs "
                  + st.hardLimit()
                  + "): every publish is refused",
              "find the producer that ignores credits; raise max_msgs in jetstream-config and"
                  + " 'sluice apply' only if the workers can drain it"));
    }
    Long redelivered = st.redelivered();
    if (redelivered != null && redelivered > 0) {
      String sample = "";
      if (!msgs.isEmpty()) {
        StoredMessage m = msgs.get(0);
        sample =
            "; the oldest is seq "
                + m.sequence()
                + " ("
                + Messages.first(m, SluiceHeaders.TYPE)
                + "@"
                + Messages.first(m, SluiceHeaders.TYPE_VERSION)
                + ", id "
                + Messages.first(m, SluiceHeaders.MSG_ID)
                + ", "
                + Table.age(Math.max(0, st.now - m.storedAt().toEpochMilli()))
                + " old)";
      }
      out.add(
          new Finding(
              "poison",
              redelivered
                  + " messages are being redelivered again and again: the handler keeps failing"
                  + " on them"
                  + sample,
              "read the worker log for the handler's error ('sluice peek "
                  + q
                  + "' shows the messages); they are dead-lettered after max_attempts, then"
                  + " 'sluice dlq replay' once fixed. If they never are, the workers cannot write"
                  + " dead-letter records (their Worker.health() is FAILING with the reason):"
                  + " check that they may publish to sluice.dlq."
                  + q
                  + " ('sluice permissions --role worker --queue "
                  + q
                  + "')"));
    }
    Long inFlight = st.inFlight();
    if (st.backlog() > 0
        && inFlight != null
        && inFlight >= st.backlog()
        && !st.finishing(stuckMs)
        && st.liveWorkers() > 0) {
      out.add(
          new Finding(
              "all-in-backoff",
              "every stored message ("
                  + st.backlog()
                  + ") is in flight or waiting for a retry, and none finished in the last "
                  + Table.age(stuckMs),
              "the handlers are failing or hanging: check the worker log, the handler timeout and"
                  + " downstream dependencies"));
    }
    Map<String, Integer> unhandled = unhandledVersions(st, msgs);
    if (!unhandled.isEmpty()) {
      List<String> handled = new ArrayList<>();
      for (WorkerAdvert a : st.in.liveWorkers()) {
        handled.add(a.workerId() + ": " + WorkersCommand.handled(a));
      }
      List<String> parts = new ArrayList<>();
      unhandled.forEach((k, v) -> parts.add(k + " (" + v + " messages)"));
      out.add(
          new Finding(
              "unhandled-version",
              "no live worker handles "
                  + String.join(", ", parts)
                  + "; live workers handle "
                  + String.join("; ", handled),
              "deploy a worker that handles these types and versions (or an upcaster); after the"
                  + " grace period they are dead-lettered as unknown-type/unsupported-version"));
    }
    if (out.isEmpty()
        && st.backlog() > 0
        && !st.progressing(stuckMs)
        && st.oldestAgeMs() != null
        && st.oldestAgeMs() > stuckMs) {
      out.add(
          new Finding(
              "stuck",
              "the backlog ("
                  + st.backlog()
                  + ") has not moved for "
                  + Table.age(stuckMs)
                  + " and no single cause was found",
              "check worker logs and 'sluice workers " + q + "', 'sluice credits " + q + "'"));
    }
    FairnessView.Key dominant = st.fairness().dominant();
    if (dominant != null) {
      out.add(
          new Finding(
              "fairness-dominant",
              "fairness key "
                  + FairnessView.name(dominant.key())
                  + " holds "
                  + dominant.waiting()
                  + " of the "
                  + st.fairness().waiting
                  + " sends waiting for credits; the producers grant the other keys their"
                  + " weighted share first, so their sends do not wait behind it, and it has had "
                  + Math.round(dominant.share() * 100)
                  + "% of the grants",
              "if it should get less, raise the other keys' weights (QueueProducer.Builder"
                  + ".fairnessWeight, or fairness_weights in the queue's settings); if all of it"
                  + " is wanted, add workers: the window, not fairness, limits the total"));
    }
    Long dead = st.deadLetters();
    if (dead == null) {
      out.add(
          new Finding(
              "dlq-missing",
              "stream SLUICE_DLQ does not exist: workers cannot write dead-letter records, so every"
                  + " message they must dead-letter is NAKed and retried instead (their"
                  + " Worker.health() is FAILING), and no new worker can start",
              "create it with 'sluice apply' (or Sluice.provision(QueueSpec.of(\"" + q + "\")))"));
    } else if (dead > 0) {
      out.add(
          new Finding(
              "dead-letters",
              dead + " dead letters are stored for " + q,
              "inspect them with 'sluice dlq list "
                  + q
                  + "'; replay with 'sluice dlq replay "
                  + q
                  + " --all' once fixed, or purge"));
    }
    return out;
  }

  /** type@version of sampled messages that no live advert's handled ranges cover. */
  static Map<String, Integer> unhandledVersions(QueueState st, List<StoredMessage> msgs) {
    Map<String, Integer> out = new LinkedHashMap<>();
    List<WorkerAdvert> live = st.in.liveWorkers();
    if (live.isEmpty()) {
      return out;
    }
    for (StoredMessage m : msgs) {
      String type = Messages.first(m, SluiceHeaders.TYPE);
      String vs = Messages.first(m, SluiceHeaders.TYPE_VERSION);
      String ps = Messages.first(m, SluiceHeaders.PROTOCOL);
      if (type == null || vs == null) {
        continue;
      }
      int v;
      int p;
      try {
        v = Integer.parseInt(vs);
        p = ps == null ? 1 : Integer.parseInt(ps);
      } catch (NumberFormatException e) {
        continue;
      }
      int version = v;
      int protocol = p;
      if (live.stream().noneMatch(a -> a.handles(protocol, type, version))) {
        out.merge(type + "@" + v + (p > 1 ? " (protocol " + p + ")" : ""), 1, Integer::sum);
      }
    }
    return out;
  }
}
