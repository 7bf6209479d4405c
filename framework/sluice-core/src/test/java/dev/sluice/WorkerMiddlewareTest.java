package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.wire.Protocol;
import dev.sluice.spi.Codec;
import dev.sluice.spi.Middleware;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.Message;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** User middleware as a user writes it: order, failures, and the chain's contract. */
class WorkerMiddlewareTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  static Worker.Builder worker(Connection nc, String q) {
    return Queues.quickWorker(nc, q);
  }

  static String provision(Connection nc) {
    return Queues.provision(nc, NATS);
  }

  static Middleware recording(String name, List<String> log) {
    return next ->
        ctx -> {
          log.add(name + ">");
          try {
            next.proceed(ctx);
          } finally {
            log.add("<" + name);
          }
        };
  }

  @Test
  void firstAddedMiddlewareRunsOutermost() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      List<String> log = new CopyOnWriteArrayList<>();
      try (Worker w =
          worker(nc, q)
              .middleware(recording("a", log))
              .middleware(recording("b", log))
              .middleware(recording("c", log))
              .handle(JOB, (s, ctx) -> log.add("handler " + s))
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "x".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> w.processedCount() == 1);
      }
      // Reversed, a tracing middleware added first would not see the others' time.
      assertThat(log).containsExactly("a>", "b>", "c>", "handler x", "<c", "<b", "<a");
    }
  }

  @Test
  void middlewareThatThrowsFailsTheAttemptLikeTheHandler() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      List<String> handled = new CopyOnWriteArrayList<>();
      Middleware gate =
          next ->
              ctx -> {
                throw new IllegalStateException("tenant quota exceeded");
              };
      try (Worker w =
          worker(nc, q)
              .middleware(gate)
              .deadLetter(DeadLetterPolicy.builder().maxAttempts(2).build())
              .handle(JOB, (s, ctx) -> handled.add(s))
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "x".getBytes());
        await().atMost(Duration.ofSeconds(15)).until(() -> w.deadLetteredCount() == 1);
        // Retried once, then dead-lettered: a middleware failure is the attempt's failure.
        assertThat(w.retriedCount()).isEqualTo(1);
      }
      assertThat(handled).isEmpty();
      List<Message> dlq = Queues.deadLetters(nc, q);
      assertThat(dlq).hasSize(1);
      assertThat(dlq.get(0).getHeaders().getFirst(Protocol.H_DLQ_REASON)).isEqualTo("max-attempts");
      assertThat(dlq.get(0).getHeaders().getFirst(Protocol.H_DLQ_ERROR))
          .contains("IllegalStateException: tenant quota exceeded");
    }
  }

  @Test
  void middlewareThatRejectsDeadLettersAtOnce() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      Middleware reject =
          next ->
              ctx -> {
                throw new RejectMessageException("unknown tenant");
              };
      try (Worker w = worker(nc, q).middleware(reject).handle(JOB, (s, ctx) -> {}).start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "x".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> w.deadLetteredCount() == 1);
        assertThat(w.retriedCount()).isZero();
      }
      assertThat(Queues.deadLetters(nc, q).get(0).getHeaders().getFirst(Protocol.H_DLQ_REASON))
          .isEqualTo("rejected");
    }
  }

  /** A middleware with a name, so the error can say which one broke the contract. */
  record Named(String name, Middleware m) implements Middleware {
    @Override
    public Invocation wrap(Invocation next) {
      return m.wrap(next);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  @Test
  void middlewareThatReturnsNullFromWrapIsNamedAtStart() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      Worker.Builder b =
          worker(nc, q)
              .middleware(next -> next)
              .middleware(new Named("broken-auth", next -> null))
              .handle(JOB, (s, ctx) -> {});
      // Found at start, by name, instead of a NullPointerException on every message.
      assertThatThrownBy(b::start)
          .isInstanceOf(IllegalStateException.class)
          .hasMessageStartingWith("middleware #2 (broken-auth of ")
          .hasMessageEndingWith(") returned null from wrap()");
    }
  }

  @Test
  void middlewarePassingANullContextIsNamedInTheDeadLetter() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      String q = provision(nc);
      Middleware nulling = next -> ctx -> next.proceed(null);
      try (Worker w =
          worker(nc, q)
              .middleware(next -> next::proceed)
              .middleware(new Named("context-dropper", nulling))
              .deadLetter(DeadLetterPolicy.builder().maxAttempts(1).build())
              .handle(JOB, (s, ctx) -> {})
              .start()) {
        Queues.rawPublish(nc, q, Queues.goodHeaders(1), "x".getBytes());
        await().atMost(Duration.ofSeconds(10)).until(() -> w.deadLetteredCount() == 1);
      }
      // The record says which middleware to fix, not just "NullPointerException".
      assertThat(Queues.deadLetters(nc, q).get(0).getHeaders().getFirst(Protocol.H_DLQ_ERROR))
          .contains("middleware #2 (context-dropper of ")
          .contains("passed a null context to proceed()");
    }
  }
}
