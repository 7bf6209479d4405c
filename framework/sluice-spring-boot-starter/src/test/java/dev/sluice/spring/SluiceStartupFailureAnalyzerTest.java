package dev.sluice.spring;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.BeanCreationException;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** The start-up report splits the problem from what to do (pure logic: no server). */
class SluiceStartupFailureAnalyzerTest {
  @Test
  void theProblemIsTheDescriptionAndTheAdviceTheAction() {
    SluiceStartupException cause =
        new SluiceStartupException("cannot connect to nats://h:4222", "Set sluice.server", null);
    BeanCreationException failure = new BeanCreationException("sluiceConnection", "failed", cause);

    FailureAnalysis analysis = new SluiceStartupFailureAnalyzer().analyze(failure);

    assertThat(analysis.getDescription()).isEqualTo("cannot connect to nats://h:4222");
    assertThat(analysis.getAction()).isEqualTo("Set sluice.server");
    assertThat(cause).hasMessage("cannot connect to nats://h:4222: Set sluice.server");
  }

  @Test
  void otherFailuresAreLeftToSpringBoot() {
    assertThat(new SluiceStartupFailureAnalyzer().analyze(new IllegalStateException("x"))).isNull();
  }
}
