package dev.sluice.internal.credit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.SluiceException;
import dev.sluice.internal.credit.TokenWallet.Credit;
import dev.sluice.internal.time.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The wallet with fairness keys (protocol §15.3), on a fake clock: sends of several keys wait, and
 * tokens that arrive are granted in weighted fair order; sends without keys keep arrival order.
 */
class FairWalletTest {
  final FakeClock clock = new FakeClock();
  final Map<String, Integer> weights = Map.of("heavy", 3);
  final TokenWallet wallet =
      new TokenWallet(
          clock,
          Duration.ofSeconds(3),
          Duration.ofMillis(500),
          new NoPort(),
          k -> weights.getOrDefault(k, 1));

  static final class NoPort implements WalletPort {
    @Override
    public void report(Holdings h) {}

    @Override
    public RuntimeException timedOut() {
      return new SluiceException("timed out");
    }

    @Override
    public void demandChanged() {}

    @Override
    public void settleSoon() {}
  }

  static final class Token implements HeldToken {
    final int value;

    Token(int value) {
      this.value = value;
    }

    @Override
    public int value() {
      return value;
    }

    @Override
    public void ack() {}

    @Override
    public void nak() {}

    @Override
    public void extendLease() {}
  }

  record Send(String key, CompletableFuture<Credit> credit) {}

  List<Send> queue(String key, int n) {
    List<Send> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Send(key, wallet.acquire(Long.MAX_VALUE, key)));
    }
    return out;
  }

  static long granted(List<Send> sends) {
    return sends.stream().filter(s -> s.credit().isDone()).count();
  }

  @Test
  void aQuietKeysSendIsGrantedBeforeTheFloodQueuedAheadOfIt() {
    List<Send> flood = queue("flood", 100);
    List<Send> quiet = queue("quiet", 1);
    wallet.add(new Token(2));
    assertThat(granted(quiet)).isEqualTo(1);
    assertThat(granted(flood)).isEqualTo(1);
  }

  @Test
  void weightedKeysShareTheCreditsThreeToOne() {
    List<Send> heavy = queue("heavy", 500);
    List<Send> light = queue("light", 500);
    for (int i = 0; i < 10; i++) {
      wallet.add(new Token(40));
    }
    assertThat(granted(heavy)).isEqualTo(300);
    assertThat(granted(light)).isEqualTo(100);
    assertThat(wallet.fairnessKeys(5))
        .containsExactly(
            new FairQueue.KeyState("light", 1, 400, 100),
            new FairQueue.KeyState("heavy", 3, 200, 300));
  }

  @Test
  void sendsWithoutKeysKeepArrivalOrderAndJoinTheFairOrderAsOneKey() {
    List<Send> plain = queue(null, 3);
    assertThat(wallet.fairnessKeys(5)).isEmpty(); // no key yet: the plain FIFO path
    List<Send> keyed = queue("t", 3);
    wallet.add(new Token(4));
    assertThat(plain.get(0).credit()).isDone();
    assertThat(plain.get(1).credit()).isDone();
    assertThat(plain.get(2).credit()).isNotDone();
    assertThat(granted(keyed)).isEqualTo(2);
    assertThat(wallet.waiting()).isEqualTo(2);
  }

  @Test
  void expiredKeyedSendsFailAtTheirDeadline() throws Exception {
    CompletableFuture<Credit> late = wallet.acquire(clock.nanos() + 1_000, "a");
    CompletableFuture<Credit> patient = wallet.acquire(Long.MAX_VALUE, "b");
    clock.advance(Duration.ofMillis(1));
    wallet.settle();
    assertThat(late).isCompletedExceptionally();
    assertThat(patient).isNotDone();
    assertThat(wallet.waiting()).isEqualTo(1);
    wallet.close("closed");
    assertThat(patient).isCompletedExceptionally();
  }
}
