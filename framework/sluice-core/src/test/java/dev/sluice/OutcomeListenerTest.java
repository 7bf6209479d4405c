package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.spi.Codec;
import dev.sluice.spi.OutcomeListener;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** An outcome listener as a user writes one: what it is told, and one that throws. */
class OutcomeListenerTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  /** Records each outcome as one line. */
  static final class Recording implements OutcomeListener {
    final List<String> seen = new CopyOnWriteArrayList<>();

    @Override
    public void processed(Settled d) {
      seen.add("processed " + d.messageId() + " #" + d.attempt());
    }

    @Override
    public void retrying(Settled d, Duration delay, Throwable failure) {
      seen.add("retrying " + d.messageId() + " #" + d.attempt() + " " + failure.getMessage());
    }

    @Override
    public void deadLettered(Settled d, DeadLetterReason reason, String error) {
      seen.add("dead-lettered " + d.messageId() + " #" + d.attempt() + " " + reason.code());
    }
  }

  static String send(Connection nc, String q, String id, String body) throws Exception {
    Map<String, String> h = new java.util.LinkedHashMap<>(Queues.goodHeaders(1));
    h.put("Nats-Msg-Id", id);
    Queues.rawPublish(nc, q, h, body.getBytes());
    return id;
  }

  @Test
  void listenerIsToldOfEachOutcomeWithItsMessageIdAndAttempt() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = WorkerMiddlewareTest.provision(nc);
      Recording rec = new Recording();
      try (Worker w =
          WorkerMiddlewareTest.worker(nc, q)
              .outcomeListener(rec)
              .handle(
                  JOB,
                  (s, ctx) -> {
                    if (s.equals("poison")) {
                      throw new RejectMessageException("never");
                    }
                    if (s.equals("flaky") && ctx.attempt() == 1) {
                      throw new IllegalStateException("first try fails");
                    }
                  })
              .start()) {
        send(nc, q, "m-ok", "ok");
        send(nc, q, "m-flaky", "flaky");
        send(nc, q, "m-poison", "poison");
        await().atMost(Duration.ofSeconds(15)).until(() -> rec.seen.size() == 4);
      }
      // Without the listener an application would have to parse log lines to alert on a dead
      // letter or count retries; each outcome must arrive once, with the right id and attempt.
      assertThat(rec.seen)
          .containsExactlyInAnyOrder(
              "processed m-ok #1",
              "retrying m-flaky #1 first try fails",
              "processed m-flaky #2",
              "dead-lettered m-poison #1 rejected");
    }
  }

  @Test
  void listenerThatThrowsDoesNotChangeTheOutcome() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = WorkerMiddlewareTest.provision(nc);
      List<String> calls = new CopyOnWriteArrayList<>();
      OutcomeListener broken =
          new OutcomeListener() {
            @Override
            public void processed(Settled d) {
              calls.add(d.messageId());
              throw new IllegalStateException("listener bug");
            }
          };
      try (Worker w =
          WorkerMiddlewareTest.worker(nc, q)
              .outcomeListener(broken)
              .handle(JOB, (s, ctx) -> {})
              .start()) {
        send(nc, q, "a", "x");
        send(nc, q, "b", "y");
        await().atMost(Duration.ofSeconds(15)).until(() -> w.processedCount() == 2);
        // Were the exception to escape, the messages would be retried and dead-lettered although
        // their handlers succeeded: they must stay processed and leave the stream.
        await().atMost(Duration.ofSeconds(10)).until(() -> Queues.backlog(nc, q) == 0);
        assertThat(w.retriedCount()).isZero();
        assertThat(w.deadLetteredCount()).isZero();
      }
      assertThat(calls).containsExactlyInAnyOrder("a", "b");
    }
  }
}
