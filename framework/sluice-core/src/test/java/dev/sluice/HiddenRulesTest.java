package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/** Rules a new user meets without reading the source: what is logged, checked and waited for. */
class HiddenRulesTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  @Test
  void aFailingHandlerIsLoggedAtWarnWithTheMessageIdOncePerKind() throws Exception {
    String q = NATS.uniqueName("q");
    Logger settler = (Logger) LoggerFactory.getLogger("dev.sluice.internal.worker.Settler");
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.start();
    settler.addAppender(events);
    String[] firstId = new String[1];
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(8).build());
      try (Worker w =
              sluice
                  .worker(q)
                  .deadLetter(DeadLetterPolicy.builder().maxAttempts(1).build())
                  .handle(
                      JOB,
                      (s, ctx) -> {
                        throw new IllegalStateException("database down for " + s);
                      })
                  .start();
          QueueProducer p = sluice.producer(q).build()) {
        firstId[0] = p.send(OutgoingMessage.of(JOB, "a")).messageId();
        await().atMost(Duration.ofSeconds(10)).until(() -> w.deadLetteredCount() == 1);
        for (int i = 0; i < 4; i++) {
          p.send(OutgoingMessage.of(JOB, "b" + i));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> w.deadLetteredCount() == 5);
      }
    } finally {
      settler.detachAppender(events);
    }
    List<ILoggingEvent> handlerWarnings =
        events.list.stream()
            .filter(e -> e.getLevel() == Level.WARN)
            .filter(e -> e.getFormattedMessage().startsWith("handler failed"))
            .toList();
    assertThat(handlerWarnings).hasSize(1);
    ILoggingEvent warning = handlerWarnings.get(0);
    assertThat(warning.getFormattedMessage())
        .contains(Queues.TYPE)
        .contains("dead-lettering it (max-attempts)");
    assertThat(warning.getThrowableProxy().getMessage()).isEqualTo("database down for a");
    assertThat(warning.getFormattedMessage()).startsWith("handler failed on message " + firstId[0]);
  }

  @Test
  void whileACircuitIsOpenTheReconcilerDoesNotLogABurnOfNothingEveryAudit() throws Exception {
    String q = NATS.uniqueName("q");
    Logger reconciler = (Logger) LoggerFactory.getLogger("dev.sluice.internal.credit.Reconciler");
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.start();
    Level before = reconciler.getLevel();
    reconciler.setLevel(Level.DEBUG);
    reconciler.addAppender(events);
    try (Connection nc = NATS.server().connect()) {
      Sluice.using(nc).provision(QueueSpec.of(q));
      try (Worker w =
          Queues.quickWorker(nc, q)
              .deadLetter(DeadLetterPolicy.builder().maxAttempts(50).maxDeliveries(60).build())
              .circuitBreaker(
                  CircuitBreakerPolicy.builder()
                      .failures(3)
                      .window(5)
                      .delay(Duration.ofSeconds(30))
                      .build())
              .handle(
                  JOB,
                  (s, ctx) -> {
                    throw new IllegalStateException("downstream is down");
                  })
              .start()) {
        // Published without credits: a backlog above the window (0 while the circuit is open)
        // that no burn can reduce.
        for (int i = 0; i < 10; i++) {
          Queues.rawPublish(nc, q, Queues.goodHeaders(1), ("m" + i).getBytes());
        }
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> w.health().state() == Health.State.CIRCUIT_OPEN);
        // Several audits with the circuit open: each sees the surplus and can burn nothing.
        await()
            .atMost(Duration.ofSeconds(15))
            .until(
                () ->
                    events.list.stream()
                            .filter(e -> e.getFormattedMessage().contains("burned 0 credits"))
                            .count()
                        >= 4);
      }
    } finally {
      reconciler.detachAppender(events);
      reconciler.setLevel(before);
    }
    assertThat(events.list)
        .filteredOn(
            e -> e.getFormattedMessage().contains("burned 0 credits, announced a debt of 0"))
        .isNotEmpty()
        .allSatisfy(e -> assertThat(e.getLevel()).isEqualTo(Level.DEBUG));
  }

  @Test
  void theFirstSendOnAFreshQueueWithoutStandingBufferDoesNotWaitForTwoAudits() throws Exception {
    String q = NATS.uniqueName("q");
    // A long audit interval makes the difference plain: the first audit runs half an interval
    // after start (5 s); the second, which a used queue needs before it mints, another 10 s later.
    Duration audit = Duration.ofSeconds(10);
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.of(q));
      long start = System.nanoTime();
      try (Worker w = sluice.worker(q).reconciler(audit).handle(JOB, (s, ctx) -> {}).start();
          QueueProducer p = sluice.producer(q).acquireTimeout(Duration.ofSeconds(30)).build()) {
        p.send(OutgoingMessage.of(JOB, "first"));
        Duration waited = Duration.ofNanos(System.nanoTime() - start);
        assertThat(waited).isLessThan(audit);
        await().atMost(Duration.ofSeconds(10)).until(() -> w.processedCount() == 1);
      }
    }
  }

  @Test
  void withNoLiveWorkerTheVersionCheckHasNothingToCheckAndTheSendProceeds() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(2).build());
      OutgoingMessage v9 = OutgoingMessage.builder(Queues.TYPE, 9, "x".getBytes()).build();
      try (QueueProducer strict = sluice.producer(q).versionPolicy(VersionPolicy.FAIL).build()) {
        // A deploy: no worker is up, the standing buffer takes the send.
        assertThat(strict.send(v9).streamSequence()).isPositive();
        try (Worker w = Queues.quickWorker(nc, q).handle(JOB, (s, ctx) -> {}).start()) {
          await()
              .atMost(Duration.ofSeconds(10))
              .untilAsserted(
                  () ->
                      org.assertj.core.api.Assertions.assertThatThrownBy(() -> strict.send(v9))
                          .isInstanceOf(UnsupportedVersionException.class));
        }
      }
    }
  }
}
