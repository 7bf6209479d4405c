package dev.sluice.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import io.nats.client.api.MessageInfo;
import io.nats.client.impl.Headers;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Checks one dead-letter record read from {@code SLUICE_DLQ} against §8.1: the exact set of {@code
 * Sluice-Dlq-*} headers and their values, the original headers and body kept, no publish
 * preconditions, and a matching {@code dead_lettered} event from the worker.
 */
final class DeadLetterRecords {
  /** The nine headers of §8.1, no more, no fewer. */
  static final Set<String> DLQ_HEADERS =
      Set.of(
          "Sluice-Dlq-Reason",
          "Sluice-Dlq-Error",
          "Sluice-Dlq-Attempts",
          "Sluice-Dlq-Stream",
          "Sluice-Dlq-Stream-Seq",
          "Sluice-Dlq-Subject",
          "Sluice-Dlq-Worker",
          "Sluice-Dlq-At",
          "Sluice-Dlq-Msg-Id");

  private DeadLetterRecords() {}

  /**
   * Header names of a record: the Sluice-Dlq-* ones and Nats-Msg-Id, plus (for messages the runner
   * published, identical in every language) every original header.
   */
  static Set<String> headerNames(Headers h, boolean dlqOnly) {
    Set<String> s = new TreeSet<>();
    for (String k : h.keySet()) {
      if (!dlqOnly || k.startsWith("Sluice-Dlq-") || k.equals("Nats-Msg-Id")) {
        s.add(k);
      }
    }
    return s;
  }

  /**
   * What is wrong with record {@code mi} of message {@code id}, dead-lettered by {@code worker}
   * with {@code reason}; empty when nothing is. {@code sentEvent} is the producer's event, or null
   * for a raw message; {@code startMs} bounds a plausible {@code Sluice-Dlq-At}.
   */
  static List<String> problems(
      MessageInfo mi,
      Fleet f,
      Peer worker,
      String id,
      String reason,
      Peer.Event sentEvent,
      long startMs) {
    List<String> bad = new ArrayList<>();
    Headers h = mi.getHeaders();
    Set<String> dlqNames =
        h.keySet().stream().filter(k -> k.startsWith("Sluice-Dlq-")).collect(Collectors.toSet());
    if (!dlqNames.equals(DLQ_HEADERS)) {
      Set<String> miss = new TreeSet<>(DLQ_HEADERS);
      miss.removeAll(dlqNames);
      Set<String> extra = new TreeSet<>(dlqNames);
      extra.removeAll(DLQ_HEADERS);
      bad.add("Sluice-Dlq-* names: missing " + miss + ", extra " + extra);
    }
    String stream = "SLUICE_Q_" + f.queue;
    expectHeader(bad, h, "Sluice-Dlq-Reason", reason);
    expectHeader(bad, h, "Sluice-Dlq-Stream", stream);
    expectHeader(bad, h, "Sluice-Dlq-Subject", "sluice.q." + f.queue);
    expectHeader(bad, h, "Sluice-Dlq-Worker", worker.id);
    String seq = first(h, "Sluice-Dlq-Stream-Seq");
    if (seq == null || !seq.matches("[1-9][0-9]*")) {
      bad.add("Sluice-Dlq-Stream-Seq " + seq);
    } else {
      expectHeader(bad, h, "Nats-Msg-Id", "dlq." + stream + "." + seq);
    }
    String attempts = first(h, "Sluice-Dlq-Attempts");
    if (attempts == null || !attempts.matches("[1-9][0-9]*")) {
      bad.add("Sluice-Dlq-Attempts " + attempts);
    } else if (reason.equals("rejected")
        || reason.endsWith("header")
        || reason.equals("decode-error")) {
      if (!attempts.equals("1")) {
        bad.add("Sluice-Dlq-Attempts " + attempts + " (expected 1: dead-lettered at once)");
      }
    }
    String at = first(h, "Sluice-Dlq-At");
    if (at == null
        || !at.matches("[1-9][0-9]*")
        || Long.parseLong(at) < startMs - 5000
        || Long.parseLong(at) > System.currentTimeMillis() + 5000) {
      bad.add("Sluice-Dlq-At " + at);
    }
    String err = first(h, "Sluice-Dlq-Error");
    if (err == null || err.isEmpty() || err.length() > 1024) {
      bad.add("Sluice-Dlq-Error " + err);
    }
    for (String k : h.keySet()) {
      if (k.startsWith("Nats-Expected-")) {
        bad.add(k + " kept (§8.1 drops publish preconditions)");
      }
    }
    if (sentEvent != null) {
      originalKept(bad, mi, sentEvent);
    } else {
      rawKept(bad, mi, f, id);
    }
    // The worker said so too.
    List<Peer.Event> evs =
        worker.events("dead_lettered").stream().filter(e -> id.equals(e.str("msg_id"))).toList();
    if (evs.size() != 1 || !reason.equals(evs.get(0).str("reason"))) {
      bad.add("dead_lettered events: " + evs.stream().map(Peer.Event::fields).toList());
    }
    return bad;
  }

  /** A producer's message: its trace, type, protocol and JSON body survive in the record. */
  private static void originalKept(List<String> bad, MessageInfo mi, Peer.Event sentEvent) {
    Headers h = mi.getHeaders();
    String tp = first(h, "traceparent");
    if (tp == null || !tp.contains("-" + sentEvent.str("trace_id") + "-")) {
      bad.add("traceparent " + tp + " does not carry the sent trace id");
    }
    expectHeader(bad, h, "Sluice-Type", Harness.TYPE);
    expectHeader(bad, h, "Sluice-Protocol", "1");
    try {
      JsonNode seq = JsonLines.parseObject(mi.getData()).get("seq");
      if (seq == null || !seq.isIntegralNumber() || seq.longValue() != sentEvent.num("seq")) {
        bad.add("body seq " + seq);
      }
    } catch (RuntimeException e) {
      bad.add("body is not the original JSON: " + e.getMessage());
    }
  }

  /** A raw message: every original header (but Nats-*) and the body byte for byte. */
  private static void rawKept(List<String> bad, MessageInfo mi, Fleet f, String id) {
    RawMessages.Raw r = RawMessages.of(id);
    if (r == null) {
      return;
    }
    Headers h = mi.getHeaders();
    Headers orig = r.headers(f.queue, id);
    for (String k : orig.keySet()) {
      if (k.startsWith("Nats-")) {
        continue;
      }
      if (!orig.get(k).equals(h.get(k))) {
        bad.add("original header " + k + " " + orig.get(k) + " became " + h.get(k));
      }
    }
    if (!Arrays.equals(r.body(), mi.getData())) {
      bad.add("body changed");
    }
  }

  private static void expectHeader(List<String> bad, Headers h, String name, String want) {
    String got = first(h, name);
    if (!want.equals(got)) {
      bad.add(name + " " + got + " (expected " + want + ")");
    }
  }

  /** The first value of a header, or null. */
  static String first(Headers h, String name) {
    if (h == null) {
      return null;
    }
    List<String> v = h.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }
}
