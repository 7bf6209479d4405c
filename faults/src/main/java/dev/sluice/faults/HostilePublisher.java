package dev.sluice.faults;

import dev.sluice.DeadLetterPolicy;
import dev.sluice.Sluice;
import dev.sluice.SluiceHeaders;
import io.nats.client.Connection;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A raw publisher that ignores the protocol writes straight to the work stream while a Sluice
 * producer sends good work: missing, malformed and unknown protocol headers, unknown types and
 * versions, garbage payloads, a message with no headers at all, and messages whose headers or
 * payload come within a few hundred bytes of the server's limits (so their dead-letter record,
 * which adds headers, would exceed them). Proves: every hostile message ends as a dead letter on
 * its own (none is retried forever or blocks a credit), and the good work is all processed.
 */
final class HostilePublisher implements Scenario {
  /** nats-server's default maximum payload (headers included), 1 MiB. */
  private static final int MAX_PAYLOAD = 1024 * 1024;

  /** JetStream's limit on a stored message's headers. */
  private static final int MAX_HEADERS = 64 * 1024;

  @Override
  public String name() {
    return "hostile-publisher";
  }

  @Override
  public String proves() {
    return "malformed, unknown and near-limit input each end as a dead letter; good work flows";
  }

  @Override
  public boolean quick() {
    return true;
  }

  @Override
  public ScenarioResult run(Lab lab) throws Exception {
    OneNode n = OneNode.provisioned(lab, "hostile");
    Connection nc = n.nc();
    Workload w = n.workload();
    lab.own(
        w.worker(nc, "w1", Workload.handler(w.effects(), Duration.ofMillis(2)))
            .deadLetter(DeadLetterPolicy.builder().grace(Duration.ofSeconds(1)).build())
            .start());
    w.awaitBalanced(Duration.ofSeconds(20));
    Workload.Sender good = w.startSender(w.producer(nc, "p1"), "good", 200, Duration.ofMillis(10));
    List<String> refused = new ArrayList<>();
    List<String> hostile = new ArrayList<>();
    for (Map.Entry<String, Input> e : inputs().entrySet()) {
      String id = "hostile-" + e.getKey();
      Headers h = new Headers();
      h.put(SluiceHeaders.MSG_ID, id);
      e.getValue().headers().forEach(h::put);
      try {
        nc.jetStream()
            .publish(
                NatsMessage.builder()
                    .subject("sluice.q." + w.queue())
                    .headers(h)
                    .data(e.getValue().payload())
                    .build());
        w.acked(id);
        hostile.add(id);
      } catch (Exception x) {
        refused.add(e.getKey() + " (" + x.getMessage() + ")");
      }
    }
    long bareSeq =
        nc.jetStream()
            .publish("sluice.q." + w.queue(), "no headers".getBytes(StandardCharsets.UTF_8))
            .getSeqno();
    long end = System.nanoTime();
    // The good work keeps flowing while the hostile messages are settled: all of it is offered.
    good.awaitOffered(Duration.ofSeconds(60));
    double rec = w.awaitRecovery(end, Duration.ofSeconds(60));
    Ledger l = w.ledger();
    List<String> problems = new ArrayList<>();
    for (String id : hostile) {
      if (!l.isDeadLettered(id)) {
        problems.add(
            id + (l.settled(id) ? " was processed" : " never settled (not dead-lettered)"));
      }
    }
    boolean bareSettled =
        Sluice.using(nc).deadLetters().list(w.queue(), 100_000).stream()
            .anyMatch(r -> r.streamSequence().orElse(-1) == bareSeq);
    if (!bareSettled) {
      problems.add("the message without headers (seq " + bareSeq + ") has no dead letter");
    }
    if (!refused.isEmpty()) {
      problems.add("refused by the server, so untested: " + String.join(", ", refused));
    }
    String check = problems.isEmpty() ? null : String.join("; ", problems);
    String note = hostile.size() + 1 + " hostile messages dead-lettered";
    return ScenarioResult.of(name(), l, w.creditsBalanced(), rec, check, note);
  }

  private record Input(Map<String, String> headers, byte[] payload) {}

  /** The hostile inputs by case name (each also gets a {@code Nats-Msg-Id} for the accounting). */
  private static Map<String, Input> inputs() {
    byte[] ok = "fine".getBytes(StandardCharsets.UTF_8);
    Map<String, Input> in = new LinkedHashMap<>();
    in.put("missing-protocol", new Input(Map.of(SluiceHeaders.TYPE, Workload.JOB.type()), ok));
    in.put("malformed-protocol", new Input(good("x1", "1"), ok));
    in.put("unknown-protocol", new Input(good("99", "1"), ok));
    in.put("malformed-version", new Input(good("1", "one"), ok));
    in.put("unknown-version", new Input(good("1", "99"), ok));
    Map<String, String> unknownType = new LinkedHashMap<>(good("1", "1"));
    unknownType.put(SluiceHeaders.TYPE, "evil.Unknown");
    in.put("unknown-type", new Input(unknownType, ok));
    in.put("garbage-payload", new Input(good("1", "1"), new byte[] {(byte) 0xff, (byte) 0xfe, 0}));
    // Near the limits: an unknown version makes each a dead letter whose record is larger still.
    Map<String, String> bigHeaders = new LinkedHashMap<>(good("1", "99"));
    bigHeaders.put("X-Hostile-Padding", "h".repeat(MAX_HEADERS - 400));
    in.put("near-limit-headers", new Input(bigHeaders, ok));
    in.put("near-limit-payload", new Input(good("1", "99"), new byte[MAX_PAYLOAD - 400]));
    return in;
  }

  private static Map<String, String> good(String protocol, String version) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put(SluiceHeaders.PROTOCOL, protocol);
    h.put(SluiceHeaders.TYPE, Workload.JOB.type());
    h.put(SluiceHeaders.TYPE_VERSION, version);
    h.put(SluiceHeaders.CONTENT_TYPE, Workload.JOB.contentType());
    return h;
  }
}
