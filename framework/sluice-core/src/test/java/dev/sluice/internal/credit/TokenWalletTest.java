package dev.sluice.internal.credit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.SluiceException;
import dev.sluice.internal.credit.TokenWallet.Credit;
import dev.sluice.internal.credit.WalletPort.Holdings;
import dev.sluice.internal.time.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The producer's wallet of held tokens (protocol §6.3-§6.7), driven by a fake clock: every event
 * the wallet causes (report, mint, ack, NAK, AckProgress) goes to one log, so the tests assert the
 * order the protocol requires, not only that things happened.
 */
class TokenWalletTest {
  static final Duration LEASE = Duration.ofSeconds(3);
  static final Duration IDLE = Duration.ofMillis(500);

  final FakeClock clock = new FakeClock();
  final List<String> log = Collections.synchronizedList(new ArrayList<>());
  final FakePort port = new FakePort();
  TokenWallet wallet = new TokenWallet(clock, LEASE, IDLE, port);

  final class FakeToken implements HeldToken {
    final String name;
    final int value;

    FakeToken(String name, int value) {
      this.name = name;
      this.value = value;
    }

    @Override
    public int value() {
      return value;
    }

    @Override
    public void ack() {
      log.add("ack " + name);
    }

    @Override
    public void nak() {
      log.add("nak " + name);
    }

    @Override
    public void extendLease() {
      log.add("progress " + name);
    }
  }

  final class FakePort implements WalletPort {
    final RuntimeException timeout = new SluiceException("no credit: the port's reason");
    int demandChanges;
    int settleRequests;
    int reportFailures;

    @Override
    public void report(Holdings h) throws Exception {
      if (reportFailures > 0) {
        reportFailures--;
        throw new java.io.IOException("KV unavailable");
      }
      log.add("report spent=" + h.spent() + " unspent=" + h.unspent() + " waiting=" + h.waiting());
    }

    @Override
    public RuntimeException timedOut() {
      return timeout;
    }

    @Override
    public void demandChanged() {
      demandChanges++;
    }

    @Override
    public void settleSoon() {
      settleRequests++;
    }
  }

  long in(Duration d) {
    return clock.nanos() + d.toNanos();
  }

  @Test
  void waitersAreServedInArrivalOrder() {
    CompletableFuture<Credit> first = wallet.acquire(in(Duration.ofSeconds(30)));
    CompletableFuture<Credit> second = wallet.acquire(in(Duration.ofSeconds(30)));
    CompletableFuture<Credit> third = wallet.acquire(in(Duration.ofSeconds(30)));
    assertThat(wallet.uncovered()).isEqualTo(3);

    wallet.add(new FakeToken("t1", 1));
    // Without FIFO a later send could take the credit and starve the first (fairness, I4).
    assertThat(List.of(first.isDone(), second.isDone(), third.isDone()))
        .containsExactly(true, false, false);

    wallet.add(new FakeToken("t2", 2));
    assertThat(second).isCompleted();
    assertThat(third).isCompleted();
    assertThat(wallet.uncovered()).isZero();
  }

  @Test
  void aNewSendDoesNotOvertakeWaitingOnes() {
    CompletableFuture<Credit> waiting = wallet.acquire(in(Duration.ofSeconds(30)));
    wallet.add(new FakeToken("t1", 1));
    assertThat(waiting).isCompleted();

    CompletableFuture<Credit> a = wallet.acquire(in(Duration.ofSeconds(30)));
    CompletableFuture<Credit> b = wallet.acquire(in(Duration.ofSeconds(30)));
    wallet.release(waiting.join(), true); // a refund goes to the oldest waiter
    assertThat(a).isCompleted();
    assertThat(b).isNotDone();
  }

  @Test
  void aWaiterPastItsDeadlineFailsWithThePortsReason() {
    CompletableFuture<Credit> f = wallet.acquire(in(Duration.ofSeconds(1)));
    clock.advance(Duration.ofMillis(999));
    settle();
    assertThat(f).isNotDone();

    clock.advance(Duration.ofMillis(2));
    settle();
    // A wrong reason sends the user to the wrong fix (start workers vs. wait longer).
    assertThatThrownBy(f::get).isInstanceOf(ExecutionException.class).hasCause(port.timeout);
    assertThat(wallet.waiting()).isZero();
  }

  @Test
  void aFullySpentTokenIsReportedThenAckedAtOnce() {
    wallet.add(new FakeToken("t1", 2));
    Credit c1 = wallet.acquire(in(Duration.ofSeconds(30))).join();
    Credit c2 = wallet.acquire(in(Duration.ofSeconds(30))).join();

    wallet.release(c1, false);
    assertThat(port.settleRequests).isZero();
    wallet.release(c2, false);
    // A spent token left stored is counted twice (in T and in the backlog): a false surplus.
    assertThat(port.settleRequests).isEqualTo(1);

    settle();
    assertThat(log).containsExactly("report spent=0 unspent=0 waiting=0", "ack t1");
  }

  @Test
  void aReportCountsASpentCreditOnlyOnceItsPublishIsStored() {
    wallet.add(new FakeToken("t1", 4));
    Credit stored = wallet.acquire(in(Duration.ofSeconds(30))).join();
    wallet.acquire(in(Duration.ofSeconds(30))).join(); // its publish still in progress
    wallet.release(stored, false);

    settle();
    // The publish in progress is not in the backlog yet: counted spent, it would be in S alone, a
    // deficit that two audits under load read and mint (§6.1 [v1.3]). It stays held meanwhile.
    assertThat(log).containsExactly("report spent=1 unspent=2 waiting=0");
    assertThat(wallet.holdings()).isEqualTo(new Holdings(1, 2, 0, 1));
  }

  @Test
  void anIdleUnspentTokenIsNakedAfterTheIdleReturnTime() {
    wallet.add(new FakeToken("t1", 4));
    clock.advance(IDLE);
    settle();
    assertThat(log).containsExactly("report spent=0 unspent=4 waiting=0");

    clock.advance(Duration.ofMillis(1));
    settle();
    // NAK, not mint: the very token is at once available to other producers.
    assertThat(log)
        .containsExactly(
            "report spent=0 unspent=4 waiting=0", "report spent=0 unspent=0 waiting=0", "nak t1");
    assertThat(wallet.unspent()).isZero();
  }

  @Test
  void anIdlePartlySpentTokenIsReportedThenAckedWithoutMinting() {
    wallet.add(new FakeToken("t1", 4));
    wallet.release(wallet.acquire(in(Duration.ofSeconds(30))).join(), false);
    clock.advance(IDLE.plusMillis(1));
    settle();
    // The wallet has no way to mint (WalletPort has no such call): a producer role may not publish
    // tokens, so the unspent 3 become a deficit the reconciler mints (§6.7 [v1.1]). Acking before
    // the report would under-count S for a moment and over-issue.
    assertThat(log).containsExactly("report spent=0 unspent=0 waiting=0", "ack t1");
    // What a fleet without a reconciler is missing, and what the producer reports it returned.
    assertThat(wallet.returnedUnspent()).isEqualTo(3);
  }

  @Test
  void leasesAreExtendedEveryThirdOfTheLease() {
    wallet = new TokenWallet(clock, LEASE, Duration.ofHours(1), port);
    wallet.add(new FakeToken("t1", 4));
    clock.advance(Duration.ofMillis(999));
    settle();
    assertThat(log).doesNotContain("progress t1");

    clock.advance(Duration.ofMillis(2)); // 1001 ms > 3 s / 3
    settle();
    clock.advance(Duration.ofMillis(500));
    settle();
    clock.advance(Duration.ofMillis(501));
    settle();
    // Without AckProgress the server redelivers a held token and its credits are duplicated.
    assertThat(log.stream().filter(e -> e.equals("progress t1"))).hasSize(2);
  }

  @Test
  void aFailedPublishRefundsItsCredit() {
    wallet.add(new FakeToken("t1", 1));
    Credit c = wallet.acquire(in(Duration.ofSeconds(30))).join();
    // In flight, not spent: reported spent before it is stored, the credit would be in S and not
    // yet in the backlog, a deficit the reconciler mints (§6.1 [v1.3]).
    assertThat(wallet.holdings()).isEqualTo(new Holdings(0, 0, 0, 1));

    wallet.release(c, true);
    // Without the refund a publish that never stored anything would leak a credit.
    assertThat(wallet.holdings()).isEqualTo(new Holdings(0, 1, 0, 0));
    assertThat(port.settleRequests).isZero();
    assertThat(wallet.acquire(in(Duration.ofSeconds(30)))).isCompleted();
  }

  @Test
  void aSpentTokenIsNotAckedWhenItsReportFailed() {
    wallet.add(new FakeToken("t1", 1));
    wallet.release(wallet.acquire(in(Duration.ofSeconds(30))).join(), false);
    port.reportFailures = 1;
    assertThatThrownBy(wallet::settle).hasMessageContaining("KV unavailable");
    // Acking before the report would make the reconciler count the spent credit as missing.
    assertThat(log).doesNotContain("ack t1");

    settle();
    assertThat(log).containsExactly("report spent=0 unspent=0 waiting=0", "ack t1");
  }

  /**
   * Regression: a refunded credit (a publish that stored nothing) was not handed to the sends
   * already waiting; with every other credit in use they timed out while the wallet held a credit.
   */
  @Test
  void aWaitingSendNoLongerTimesOutWhileARefundedCreditSitsInTheWallet() {
    wallet.add(new FakeToken("t1", 1));
    Credit c = wallet.acquire(in(Duration.ofSeconds(30))).join();
    CompletableFuture<Credit> waiting = wallet.acquire(in(Duration.ofSeconds(1)));

    wallet.release(c, true);
    clock.advance(Duration.ofSeconds(2));
    settle();
    assertThat(waiting).isCompleted();
  }

  /** A partly spent token whose report failed stays held; the next round reports and acks it. */
  @Test
  void aPartlySpentTokenIsNotAckedWhenItsReportFailed() throws Exception {
    wallet.add(new FakeToken("t1", 4));
    wallet.release(wallet.acquire(in(Duration.ofSeconds(30))).join(), false);
    clock.advance(IDLE.plusMillis(1));
    port.reportFailures = 1;
    assertThatThrownBy(wallet::settle).hasMessageContaining("KV unavailable");
    // Acked unreported, its spent credit would vanish from S while still in B: an over-issue.
    assertThat(wallet.holdings()).isEqualTo(new Holdings(1, 3, 0, 0));
    assertThat(log).noneMatch(e -> e.startsWith("ack") || e.startsWith("nak"));

    settle();
    assertThat(log).containsExactly("report spent=0 unspent=0 waiting=0", "ack t1");
  }

  @Test
  void demandIsSignalledOnlyForSendsThatHeldCreditsDoNotCover() {
    wallet.add(new FakeToken("t1", 2));
    wallet.acquire(in(Duration.ofSeconds(30)));
    wallet.acquire(in(Duration.ofSeconds(30)));
    assertThat(port.demandChanges).isZero();

    wallet.acquire(in(Duration.ofSeconds(30)));
    assertThat(port.demandChanges).isEqualTo(1);
    assertThat(wallet.uncovered()).isEqualTo(1);
  }

  @Test
  void closingFailsWaitingSends() {
    CompletableFuture<Credit> waiting = wallet.acquire(in(Duration.ofSeconds(30)));
    wallet.close("producer p closed");
    assertThatThrownBy(waiting::get).hasMessageContaining("producer p closed");
    assertThat(wallet.acquire(in(Duration.ofSeconds(30)))).isCompletedExceptionally();
  }

  @Test
  void closingReturnsEveryTokenAtTheNextSettle() {
    wallet.add(new FakeToken("t1", 2));
    wallet.add(new FakeToken("t2", 4));
    for (int i = 0; i < 3; i++) {
      wallet.release(wallet.acquire(in(Duration.ofSeconds(30))).join(), false);
    }
    // t1 is spent; t2 has 3 credits left and was used a moment ago (not idle).
    wallet.close("producer p closed");
    wallet.add(new FakeToken("late", 1));
    settle();
    // A closing producer that kept its tokens would hold their credits until the lease ends.
    assertThat(log)
        .containsExactly("nak late", "report spent=0 unspent=0 waiting=0", "ack t1", "ack t2");
  }

  @Test
  void awaitNoneInFlightReturnsWhenTheLastPublishIsReleased() throws Exception {
    wallet.add(new FakeToken("t1", 2));
    Credit c = wallet.acquire(in(Duration.ofSeconds(30))).join();
    assertThat(wallet.awaitNoneInFlight(Duration.ofMillis(1))).isFalse();

    CompletableFuture<Boolean> awaited =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return wallet.awaitNoneInFlight(Duration.ofSeconds(30));
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            });
    wallet.release(c, false);
    assertThat(awaited.get(10, TimeUnit.SECONDS)).isTrue();
  }

  private void settle() {
    try {
      wallet.settle();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
