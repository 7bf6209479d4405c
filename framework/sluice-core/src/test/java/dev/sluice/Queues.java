package dev.sluice;

import dev.sluice.internal.credit.Ledgers;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PullSubscribeOptions;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Test helpers around one queue on a real server. */
final class Queues {
  static final String TYPE = "test.Job";

  private Queues() {}

  static long backlog(Connection nc, String q) {
    try {
      return Ledgers.backlog(nc.jetStreamManagement(), q);
    } catch (IOException | JetStreamApiException e) {
      throw new IllegalStateException(e);
    }
  }

  static long tokens(Connection nc, String q) {
    try {
      return Ledgers.tokens(nc.jetStreamManagement(), q);
    } catch (IOException | JetStreamApiException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Publishes straight to the work stream, ignoring credits, with exactly these headers. */
  static long rawPublish(Connection nc, String q, Map<String, String> headers, byte[] data)
      throws Exception {
    Headers h = new Headers();
    headers.forEach(h::put);
    return nc.jetStream()
        .publish(
            NatsMessage.builder().subject(Protocol.workSubject(q)).headers(h).data(data).build())
        .getSeqno();
  }

  /** A worker builder with short heartbeats, audits and back-off, for tests that wait on it. */
  static Worker.Builder quickWorker(Connection nc, String q) {
    return Sluice.using(nc)
        .worker(q)
        .heartbeat(java.time.Duration.ofMillis(250))
        .advertTtl(java.time.Duration.ofMillis(1000))
        .reconciler(java.time.Duration.ofMillis(300))
        .backoff(Backoff.fixed(java.time.Duration.ofMillis(50)));
  }

  /** Provisions a queue with a name unique on {@code nats}'s server; returns the name. */
  static String provision(Connection nc, dev.sluice.testkit.NatsServerExtension nats) {
    QueueSpec s = QueueSpec.builder(nats.uniqueName("q")).build();
    Sluice.using(nc).provision(s);
    return s.queue();
  }

  /** The protocol headers of a well-formed message of {@link #TYPE}. */
  static Map<String, String> goodHeaders(int version) {
    return new java.util.LinkedHashMap<>(
        Map.of(
            Protocol.H_MSG_ID,
            UUID.randomUUID().toString(),
            Protocol.H_PROTOCOL,
            "1",
            Protocol.H_TYPE,
            TYPE,
            Protocol.H_TYPE_VERSION,
            Integer.toString(version)));
  }

  /** Every dead-letter record of queue {@code q}, read without consuming. */
  static List<Message> deadLetters(Connection nc, String q) throws Exception {
    var js = nc.jetStream();
    JetStreamSubscription sub =
        js.subscribe(
            Protocol.dlqSubject(q),
            PullSubscribeOptions.builder().stream(Protocol.DLQ_STREAM)
                .configuration(
                    ConsumerConfiguration.builder()
                        .deliverPolicy(DeliverPolicy.All)
                        .filterSubject(Protocol.dlqSubject(q))
                        .inactiveThreshold(Duration.ofSeconds(10))
                        .build())
                .build());
    List<Message> out = new ArrayList<>();
    while (true) {
      List<Message> got = sub.fetch(100, Duration.ofMillis(300));
      if (got.isEmpty()) {
        break;
      }
      out.addAll(got);
    }
    sub.unsubscribe();
    return out;
  }

  static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
