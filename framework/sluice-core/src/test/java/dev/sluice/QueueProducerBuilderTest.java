package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every producer setting is validated as it is set, with the setting's name and the bad value in
 * the message, before anything touches the server: a bad configuration must fail where it is
 * written, not at the first message.
 */
class QueueProducerBuilderTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static Connection nc;

  @BeforeAll
  static void connect() throws Exception {
    nc = NATS.server().connect();
  }

  @AfterAll
  static void close() throws Exception {
    nc.close();
  }

  static QueueProducer.Builder builder() {
    return Sluice.using(nc).producer("never-provisioned");
  }

  static Stream<Arguments> badValues() {
    return Stream.of(
        bad("prefetch 0", b -> b.prefetch(0), "prefetch must be in [1, 64], got 0"),
        bad("prefetch 65", b -> b.prefetch(65), "prefetch must be in [1, 64], got 65"),
        bad(
            "acquireTimeout 0",
            b -> b.acquireTimeout(Duration.ZERO),
            "acquireTimeout must be > 0, got PT0S"),
        bad(
            "acquireTimeout negative",
            b -> b.acquireTimeout(Duration.ofMillis(-5)),
            "acquireTimeout must be > 0, got PT-0.005S"),
        bad("pullExpiry 0", b -> b.pullExpiry(Duration.ZERO), "pullExpiry must be > 0, got PT0S"),
        bad(
            "reportInterval 0",
            b -> b.reportInterval(Duration.ZERO),
            "reportInterval must be > 0, got PT0S"),
        bad(
            "idleReturn negative",
            b -> b.idleReturn(Duration.ofSeconds(-1)),
            "idleReturn must be > 0, got PT-1S"),
        bad(
            "publishTimeout 0",
            b -> b.publishTimeout(Duration.ZERO),
            "publishTimeout must be > 0, got PT0S"),
        bad(
            "producerId with a space",
            b -> b.producerId("my producer"),
            "producerId 'my producer' must match ^[A-Za-z0-9_-]{1,64}$"),
        bad(
            "producerId null",
            b -> b.producerId(null),
            "producerId 'null' must match ^[A-Za-z0-9_-]{1,64}$"));
  }

  static Arguments bad(String name, Consumer<QueueProducer.Builder> set, String message) {
    return Arguments.of(name, set, message);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badValues")
  void aBadValueIsRejectedByItsSetterNamingTheSettingAndTheValue(
      String name, Consumer<QueueProducer.Builder> set, String message) {
    assertThatThrownBy(() -> set.accept(builder()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(message);
  }

  static Stream<Arguments> nullValues() {
    return Stream.of(
        bad("acquireTimeout", b -> b.acquireTimeout(null), "acquireTimeout"),
        bad("pullExpiry", b -> b.pullExpiry(null), "pullExpiry"),
        bad("reportInterval", b -> b.reportInterval(null), "reportInterval"),
        bad("idleReturn", b -> b.idleReturn(null), "idleReturn"),
        bad("publishTimeout", b -> b.publishTimeout(null), "publishTimeout"),
        bad("versionPolicy", b -> b.versionPolicy(null), "versionPolicy"),
        bad("meterRegistry", b -> b.meterRegistry(null), "meterRegistry"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("nullValues")
  void aNullIsRejectedByItsSetterNamingTheSetting(
      String name, Consumer<QueueProducer.Builder> set, String message) {
    assertThatThrownBy(() -> set.accept(builder()))
        .isInstanceOf(NullPointerException.class)
        .hasMessage(message);
  }

  @Test
  void aBadQueueNameIsRejectedWhenTheBuilderIsCreated() {
    assertThatThrownBy(() -> Sluice.using(nc).producer("orders.eu"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "queue name 'orders.eu' must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$ (letters, digits,"
                + " _ -)");
  }

  @Test
  void validValuesAtTheBoundsAreAccepted() {
    QueueProducer.Builder b =
        builder().prefetch(1).prefetch(64).acquireTimeout(Duration.ofNanos(1));
    assertThat(b).isNotNull();
  }

  @Test
  void buildingOnAQueueThatIsNotProvisionedSaysHowToProvisionIt() {
    assertThatThrownBy(() -> builder().build())
        .isInstanceOf(SluiceException.class)
        .hasMessageStartingWith("queue 'never-provisioned' is not provisioned")
        .hasMessageContaining("Sluice.provision(QueueSpec.of(\"never-provisioned\"))");
  }

  @Test
  void trySendRejectsANonPositiveWait() throws Exception {
    String q = NATS.uniqueName("q");
    Sluice.using(nc).provision(QueueSpec.of(q));
    try (QueueProducer p = Sluice.using(nc).producer(q).build()) {
      OutgoingMessage m = OutgoingMessage.builder(Queues.TYPE, 1, new byte[] {1}).build();
      assertThatThrownBy(() -> p.trySend(m, Duration.ZERO))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("wait must be > 0, got PT0S");
    }
  }
}
