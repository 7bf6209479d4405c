package dev.sluice.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The accounting every scenario's verdict rests on. If these rules were wrong, the suite could
 * report "lost 0" for a message nobody handled, or hide a handler that ran twice.
 */
class LedgerTest {
  @Test
  void ackedButNeitherProcessedNorDeadLetteredIsLost() {
    Ledger l = new Ledger().ackedAll(List.of("a", "b", "c", "d")).effect("a").deadLettered("b");

    assertThat(l.lost()).containsExactly("c", "d");
    assertThat(l.ackedCount()).isEqualTo(4);
    assertThat(l.processedCount()).isEqualTo(1);
    assertThat(l.deadLetteredCount()).isEqualTo(1);
  }

  @Test
  void everyEffectBeyondTheFirstIsADuplicate() {
    Ledger l = new Ledger().acked("a").acked("b").effect("a").effect("a").effect("a").effect("b");

    assertThat(l.duplicateEffects()).isEqualTo(2);
    assertThat(l.duplicated()).containsExactly("a");
    assertThat(l.processedCount()).isEqualTo(2);
    assertThat(l.lost()).isEmpty();
  }

  @Test
  void anUnacknowledgedSendThatWasProcessedIsNeitherLostNorCounted() {
    // A send whose PubAck was lost in a crash may still have been stored and handled: it is not
    // an acknowledged send, so it cannot be lost, but its effect counts as processed.
    Ledger l = new Ledger().acked("a").effect("a").effect("unacked");

    assertThat(l.lost()).isEmpty();
    assertThat(l.ackedCount()).isEqualTo(1);
    assertThat(l.processedCount()).isEqualTo(2);
  }

  @Test
  void aMessageBothProcessedAndDeadLetteredIsSettledOnce() {
    Ledger l = new Ledger().acked("a").effect("a").deadLettered("a");

    assertThat(l.lost()).isEmpty();
    assertThat(l.settled("a")).isTrue();
    assertThat(l.isDeadLettered("a")).isTrue();
    assertThat(l.settled("b")).isFalse();
  }

  @Test
  void ackingTheSameIdTwiceCountsOnce() {
    // A producer retry re-sends the same Nats-Msg-Id; the server de-duplicates it.
    Ledger l = new Ledger().acked("a").acked("a").effect("a");

    assertThat(l.ackedCount()).isEqualTo(1);
    assertThat(l.duplicateEffects()).isZero();
  }
}
