package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.spi.Codec;
import dev.sluice.spi.IdempotencyStore;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every configuration error of a worker and its policies is thrown where the value is set or the
 * policy built, with the field's name (and value) in the message: never at the first message.
 */
class WorkerValidationTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);
  static Connection nc;

  @BeforeAll
  static void connect() throws Exception {
    nc = NATS.server().connect();
  }

  @AfterAll
  static void disconnect() throws Exception {
    nc.close();
  }

  Worker.Builder builder() {
    return Sluice.using(nc).worker("validation");
  }

  @Test
  void deadLetterPolicyNamesTheFieldThatIsWrong() {
    assertThatThrownBy(() -> DeadLetterPolicy.builder().maxAttempts(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxAttempts must be >= 1, got 0");
    assertThatThrownBy(() -> DeadLetterPolicy.builder().maxDeliveries(0))
        .hasMessage("maxDeliveries must be >= 1, got 0");
    assertThatThrownBy(() -> DeadLetterPolicy.builder().grace(Duration.ofSeconds(-1)))
        .hasMessage("grace must be >= 0, got PT-1S");
    assertThatThrownBy(() -> DeadLetterPolicy.builder().graceNakDelay(Duration.ZERO))
        .hasMessage("graceNakDelay must be > 0, got PT0S");
    assertThatThrownBy(() -> DeadLetterPolicy.builder().grace(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("grace");
  }

  @Test
  void deadLetterPolicyChecksTheCrossFieldRuleWhereItIsBuiltNamingBothFields() {
    // 10 - 6 = 4 deliveries left for grace NAKs, but 25 s / 5 s needs 5: a message of a type
    // only another worker handles would be dead-lettered with max-deliveries inside its grace.
    assertThatThrownBy(() -> DeadLetterPolicy.builder().maxAttempts(6).maxDeliveries(10).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxDeliveries (10) - maxAttempts (6)")
        .hasMessageContaining("ceil(grace / graceNakDelay) (PT25S / PT5S = 5)");
  }

  @Test
  void deadLetterPolicyDerivesMaxDeliveriesSoTheDefaultsStayConsistent() {
    // Regression: maxAttempts(6) with the other defaults used to fail only in start().
    DeadLetterPolicy p = DeadLetterPolicy.builder().maxAttempts(6).build();
    assertThat(p.maxDeliveries()).isEqualTo(11);
    assertThat(DeadLetterPolicy.defaults().maxDeliveries()).isEqualTo(10);
    assertThat(
            DeadLetterPolicy.builder()
                .grace(Duration.ofSeconds(1))
                .graceNakDelay(Duration.ofMillis(300))
                .build()
                .maxDeliveries())
        .isEqualTo(10);
    assertThat(DeadLetterPolicy.builder().maxAttempts(1).maxDeliveries(6).build().maxDeliveries())
        .isEqualTo(6);
  }

  @Test
  void circuitBreakerPolicyNamesTheFieldThatIsWrong() {
    assertThatThrownBy(() -> CircuitBreakerPolicy.builder().failures(0))
        .hasMessage("failures must be >= 1, got 0");
    assertThatThrownBy(() -> CircuitBreakerPolicy.builder().window(0))
        .hasMessage("window must be in [1, 10000], got 0");
    assertThatThrownBy(() -> CircuitBreakerPolicy.builder().window(Integer.MAX_VALUE))
        .hasMessage("window must be in [1, 10000], got " + Integer.MAX_VALUE);
    assertThatThrownBy(() -> CircuitBreakerPolicy.builder().delay(Duration.ZERO))
        .hasMessage("delay must be > 0, got PT0S");
    assertThatThrownBy(() -> CircuitBreakerPolicy.builder().failures(6).window(5).build())
        .hasMessage("failures (6) must be <= window (5)");
    assertThat(CircuitBreakerPolicy.disabled().enabled()).isFalse();
    assertThat(CircuitBreakerPolicy.defaults().enabled()).isTrue();
  }

  @Test
  void capacityPolicyNamesTheFieldThatIsWrong() {
    assertThatThrownBy(() -> CapacityPolicy.latencyTarget(Duration.ZERO, 10))
        .hasMessage("latencyTarget must be > 0, got PT0S");
    assertThatThrownBy(() -> CapacityPolicy.latencyTarget(Duration.ofSeconds(1), 0))
        .hasMessage("maxCapacity must be >= 1, got 0");
    assertThat(CapacityPolicy.fixed().target()).isNull();
  }

  @Test
  void workerSettersNameTheFieldThatIsWrong() {
    assertThatThrownBy(() -> builder().concurrency(0))
        .hasMessage("concurrency must be in [1, 4096], got 0");
    assertThatThrownBy(() -> builder().prefetch(4097))
        .hasMessage("prefetch must be in [1, 4096], got 4097");
    assertThatThrownBy(() -> builder().maxPayloadBytes(0))
        .hasMessage("maxPayloadBytes must be >= 1, got 0");
    assertThatThrownBy(() -> builder().handlerTimeout(Duration.ZERO))
        .hasMessage("handlerTimeout must be > 0, got PT0S");
    assertThatThrownBy(() -> builder().heartbeat(Duration.ofMillis(-1)))
        .hasMessage("heartbeat must be > 0, got PT-0.001S");
    assertThatThrownBy(() -> builder().advertTtl(Duration.ZERO))
        .hasMessage("advertTtl must be > 0, got PT0S");
    assertThatThrownBy(() -> builder().reconciler(Duration.ZERO))
        .hasMessage("auditInterval must be > 0, got PT0S");
    assertThatThrownBy(() -> builder().shutdownGrace(Duration.ZERO))
        .hasMessage("shutdownGrace must be > 0, got PT0S");
    assertThatThrownBy(() -> builder().upcast(Queues.TYPE, 0, b -> b))
        .hasMessage("fromVersion must be >= 1, got 0");
    assertThatThrownBy(() -> builder().workerId("has space"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("workerId");
    assertThatThrownBy(() -> builder().handle(JOB, (s, c) -> {}).handle(JOB, (s, c) -> {}))
        .hasMessage("a handler for test.Job version 1 is already set");
    assertThatThrownBy(() -> builder().meterRegistry(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("meterRegistry");
  }

  @Test
  void idempotencyStoreAndSharedIdempotencyExcludeEachOther() {
    IdempotencyStore store = IdempotencyStore.local(10, Duration.ofMinutes(1));
    assertThatThrownBy(() -> builder().sharedIdempotency().idempotencyStore(store))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("sharedIdempotency() was already set");
    assertThatThrownBy(() -> builder().idempotencyStore(store).sharedIdempotency())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("idempotencyStore was already set to ");
  }

  @Test
  void startChecksTheWholeConfigurationBeforeTouchingTheServer() {
    assertThatThrownBy(() -> builder().start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("no handler: call handle(codec, handler) first");
    assertThatThrownBy(() -> builder().handle(JOB, (s, c) -> {}).upcast("other", 1, b -> b).start())
        .hasMessage("upcaster for other but no handler for it");
    assertThatThrownBy(
            () ->
                builder()
                    .handle(JOB, (s, c) -> {})
                    .heartbeat(Duration.ofSeconds(2))
                    .advertTtl(Duration.ofSeconds(3))
                    .start())
        .hasMessage("advertTtl (PT3S) must be >= 2 x heartbeat (PT2S)");
  }
}
