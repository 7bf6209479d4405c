package dev.sluice.internal.credit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.proto.MintReason;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The replenisher's pipeline of confirms and mints (protocol §5.4), with a confirmer whose answers
 * the test releases by hand and a minter that records what it was asked to mint. What would be lost
 * if it were wrong: a credit minted before the server confirmed the ack of the message it replaces
 * (the backlog could exceed the window), or a confirm that waits for the previous round's mint (the
 * serial round trips this pipeline exists to remove).
 */
class ReplenisherTest {
  static final int BATCH = 4;

  final ScheduledExecutorService minterThread = Executors.newSingleThreadScheduledExecutor();
  final List<CompletableFuture<Long>> confirms = new CopyOnWriteArrayList<>();
  final AtomicLong finishesSent = new AtomicLong();
  final List<Long> sentAtConfirm = new CopyOnWriteArrayList<>();
  final List<Long> mints = new CopyOnWriteArrayList<>();
  final List<Long> early = new CopyOnWriteArrayList<>();
  final List<Thread> confirmedOn = new CopyOnWriteArrayList<>();
  volatile CountDownLatch mintGate = new CountDownLatch(0);

  /** The finishes covered by a confirm the server has answered. */
  long answered() {
    long n = 0;
    for (int i = 0; i < confirms.size(); i++) {
      if (confirms.get(i).isDone() && !confirms.get(i).isCompletedExceptionally()) {
        n = Math.max(n, sentAtConfirm.get(i));
      }
    }
    return n;
  }

  final Replenisher.Minter minter =
      new Replenisher.Minter() {
        final AtomicLong total = new AtomicLong();

        @Override
        public void mint(long credits, int batch, MintReason reason) {
          try {
            mintGate.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          // §5.4: every credit minted replaces a finish the server has confirmed.
          if (total.get() + credits > answered()) {
            early.add(credits);
          }
          mints.add(credits);
          total.addAndGet(credits);
        }

        @Override
        public long mintedTotal() {
          return total.get();
        }
      };

  final Replenisher replenisher =
      new Replenisher(
          minter,
          BATCH,
          minterThread,
          () -> 1_000_000, // a fast worker: the shortest linger
          () -> 64,
          () -> {
            CompletableFuture<Long> f = new CompletableFuture<>();
            confirmedOn.add(Thread.currentThread());
            sentAtConfirm.add(finishesSent.get());
            confirms.add(f);
            return f;
          },
          new Debt("w1"));

  @AfterEach
  void stop() {
    mintGate.countDown();
    minterThread.shutdownNow();
    assertThat(early).as("credits minted before their acks were confirmed").isEmpty();
  }

  void finish(int n) {
    for (int i = 0; i < n; i++) {
      finishesSent.incrementAndGet(); // the settler counts the ack before it reports it
      replenisher.finished();
    }
  }

  void answer(int confirm) {
    confirms.get(confirm).complete(sentAtConfirm.get(confirm));
  }

  @Test
  void mintsABatchOnlyAfterTheServerConfirmedItsAcks() {
    finish(BATCH);
    await().until(() -> confirms.size() == 1);
    // No answer yet: nothing may be minted, not even when lingers pass meanwhile.
    await().during(Duration.ofMillis(100)).atMost(Duration.ofSeconds(2)).until(mints::isEmpty);
    assertThat(replenisher.owed()).isEqualTo(BATCH);

    answer(0);
    await().until(() -> minter.mintedTotal() == BATCH);
    assertThat(mints).containsExactly((long) BATCH);
    assertThat(replenisher.owed()).isZero();
  }

  @Test
  void theFinishThatCompletesABatchSendsItsConfirmItself() {
    // On the finishing thread, right behind its ack: a hand-off to the minter thread would add
    // that thread's wake-up to every grant.
    finish(BATCH - 1);
    assertThat(confirms).isEmpty();
    finish(1);
    assertThat(confirmedOn).containsExactly(Thread.currentThread());
    answer(0);
    await().until(() -> minter.mintedTotal() == BATCH);
  }

  @Test
  void nextConfirmTravelsWhileThePreviousRoundIsMinted() {
    mintGate = new CountDownLatch(1); // the first mint blocks until released
    finish(BATCH);
    await().until(() -> confirms.size() == 1);
    finish(BATCH); // finished while the first confirm is in flight
    answer(0);
    // The second confirm is sent while the first round's mint is still blocked.
    await().until(() -> confirms.size() == 2);
    assertThat(mints).isEmpty();
    mintGate.countDown();
    answer(1);
    await().until(() -> minter.mintedTotal() == 2 * BATCH);
  }

  @Test
  void aPartialBatchIsMintedAfterTheLingerOnceConfirmed() {
    finish(1);
    await().until(() -> confirms.size() == 1);
    assertThat(mints).isEmpty();
    answer(0);
    await().until(() -> minter.mintedTotal() == 1);
    assertThat(mints).containsExactly(1L);
  }

  @Test
  void aFailedConfirmMintsNothingAndIsRetried() {
    finish(BATCH);
    await().until(() -> confirms.size() == 1);
    confirms.get(0).completeExceptionally(new java.io.IOException("no reply"));
    await().atMost(Duration.ofSeconds(5)).until(() -> confirms.size() == 2);
    assertThat(mints).isEmpty();
    answer(1);
    await().until(() -> minter.mintedTotal() == BATCH);
  }

  @Test
  void flushAllConfirmsAndMintsEverythingOwed() {
    mintGate = new CountDownLatch(0);
    finish(3);
    await().until(() -> confirms.size() == 1);
    // Shutdown: flushAll sends its own confirm and waits for it.
    CompletableFuture<Boolean> flushed = CompletableFuture.supplyAsync(replenisher::flushAll);
    await().until(() -> confirms.size() == 2);
    answer(1);
    assertThat(flushed.join()).isTrue();
    assertThat(minter.mintedTotal()).isEqualTo(3);
  }
}
