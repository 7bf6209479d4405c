package dev.sluice.internal.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.CircuitBreakerPolicy;
import io.nats.client.Message;
import io.nats.client.impl.NatsMessage;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The probe rules of protocol §7.6 [v1.3] in {@link BreakerStep}, without a server. Failsafe takes
 * no clock, so the delay is one nanosecond: an open circuit is half-open at the next look, and
 * these tests are about what ends a probe, not about the delay. A probe permit taken and not given
 * back shows as {@code tryProbe() == false}.
 */
class BreakerProbeTest {
  private final BreakerStep breaker =
      new BreakerStep(
          "q",
          CircuitBreakerPolicy.builder().failures(2).window(4).delay(Duration.ofNanos(1)).build());

  private static Message message(String name) {
    return NatsMessage.builder().subject("sluice.q." + name).build();
  }

  private void open() {
    breaker.ran(message("f1"), true);
    assertThat(breaker.open()).isFalse();
    breaker.ran(message("f2"), true);
    assertThat(breaker.open()).isTrue();
  }

  private Message probe(String name) {
    await().atMost(Duration.ofSeconds(5)).until(breaker::tryProbe);
    Message m = message(name);
    breaker.probeArrived(m);
    return m;
  }

  @Test
  void anEmptyProbePullClosesTheCircuit() {
    open();
    await().atMost(Duration.ofSeconds(5)).until(breaker::tryProbe);
    breaker.probeFoundNothing();
    assertThat(breaker.open()).isFalse();
    // Closed with a fresh window: it takes the full failure count to open again.
    breaker.ran(message("after"), true);
    assertThat(breaker.open()).isFalse();
  }

  @Test
  void aProbeSettledWithoutACountedRunLetsTheNextProbeThrough() {
    open();
    Message rejected = probe("rejected");
    assertThat(breaker.tryProbe()).as("one probe at a time").isFalse();
    breaker.released(rejected);
    assertThat(breaker.open()).as("no verdict").isTrue();
    Message next = probe("next");
    breaker.ran(next, false);
    assertThat(breaker.open()).isFalse();
  }

  @Test
  void aSuccessfulProbeClosesAndAFailedOneOpensAgain() {
    open();
    Message failed = probe("failed");
    breaker.ran(failed, true);
    assertThat(breaker.open()).isTrue();
    breaker.released(failed); // its slot is freed after the verdict: no second permit
    assertThat(breaker.tryProbe()).isTrue();
    assertThat(breaker.tryProbe()).isFalse();
    breaker.probeLost();
    breaker.ran(probe("succeeded"), false);
    assertThat(breaker.open()).isFalse();
  }

  @Test
  void runsThatAreNotTheProbeDecideNothingWhileTheCircuitIsOpen() {
    Message before = message("started before it opened");
    open();
    Message p = probe("probe");
    breaker.ran(before, false);
    assertThat(breaker.open()).as("a success that is not the probe").isTrue();
    breaker.ran(message("from a pull made before it opened"), true);
    breaker.released(before);
    assertThat(breaker.tryProbe()).as("releasing another message ends no probe").isFalse();
    // Had the failure counted, the circuit would be open again and deaf to the probe's success.
    breaker.ran(p, false);
    assertThat(breaker.open()).isFalse();
  }

  @Test
  void aLostProbePullLetsTheNextProbeThrough() {
    open();
    await().atMost(Duration.ofSeconds(5)).until(breaker::tryProbe);
    breaker.probeLost();
    assertThat(breaker.open()).isTrue();
    assertThat(breaker.tryProbe()).isTrue();
  }

  @Test
  void anEmptyPullChangesNothingOnceTheCircuitIsClosed() {
    breaker.probeFoundNothing();
    breaker.probeLost();
    assertThat(breaker.open()).isFalse();
    open();
  }
}
