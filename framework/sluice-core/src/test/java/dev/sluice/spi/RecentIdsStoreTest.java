package dev.sluice.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** What the local idempotency store remembers: the last N keys, each for the window at most. */
class RecentIdsStoreTest {
  private static final Duration HOUR = Duration.ofHours(1);

  @Test
  void remembersExactlyTheLastMaximumSizeKeysOfAStreamOfNewOnes() {
    IdempotencyStore store = IdempotencyStore.local(1_000, HOUR);
    for (int i = 0; i < 50_000; i++) {
      assertThat(store.markProcessed("q.id-" + i, "w")).isTrue();
    }

    assertThat(IntStream.range(49_000, 50_000).allMatch(i -> store.isProcessed("q.id-" + i)))
        .isTrue();
    assertThat(IntStream.range(0, 49_000).noneMatch(i -> store.isProcessed("q.id-" + i))).isTrue();
  }

  @Test
  void aSecondRecordOfAKeyIsADuplicateAndTheBoundStillHolds() {
    IdempotencyStore store = IdempotencyStore.local(3, HOUR);

    assertThat(store.markProcessed("q.a", "w")).isTrue();
    assertThat(store.markProcessed("q.a", "w")).isFalse();
    assertThat(store.isProcessed("q.a")).isTrue();
    store.markProcessed("q.b", "w");
    assertThat(store.isProcessed("q.a")).isTrue();
    store.markProcessed("q.c", "w"); // the duplicate took a turn: a, dup, b, c
    assertThat(store.isProcessed("q.a")).isFalse();
    assertThat(store.isProcessed("q.b")).isTrue();
    assertThat(store.isProcessed("q.c")).isTrue();
  }

  @Test
  void forgetsAKeyWhenTheWindowPassed() {
    IdempotencyStore store = IdempotencyStore.local(100, Duration.ofMillis(200));
    store.markProcessed("q.a", "w");

    assertThat(store.isProcessed("q.a")).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> !store.isProcessed("q.a"));
    assertThat(store.markProcessed("q.a", "w")).isTrue();
  }

  @Test
  void concurrentRecordsKeepTheBound() throws Exception {
    IdempotencyStore store = IdempotencyStore.local(1_000, HOUR);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int thread = t;
        done.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 20_000; i++) {
                    store.markProcessed("q." + thread + "-" + i, "w");
                  }
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }

    long remembered =
        IntStream.range(0, 4)
            .mapToLong(
                t ->
                    IntStream.range(0, 20_000)
                        .filter(i -> store.isProcessed("q." + t + "-" + i))
                        .count())
            .sum();
    assertThat(remembered).isEqualTo(1_000);
  }

  /**
   * Random records and lookups over a few keys, held against a plain model of the rule (a ring of
   * turns, a duplicate taking one too): exercises the table's probing and its deletions, where a
   * wrong shift would forget a key too early (a redelivery runs again) or keep one too long.
   */
  @Test
  void agreesWithAModelOfTheRingUnderRandomRecordsAndLookups() {
    for (int size : new int[] {1, 2, 3, 7, 64}) {
      IdempotencyStore store = IdempotencyStore.local(size, HOUR);
      String[] ring = new String[size]; // the model: the key of each turn, or null
      long turns = 0;
      java.util.Random random = new java.util.Random(size);
      for (int op = 0; op < 50_000; op++) {
        String key = "q.k" + random.nextInt(3 * size + 2);
        boolean modelHas = java.util.Arrays.asList(ring).contains(key);
        if (random.nextBoolean()) {
          assertThat(store.isProcessed(key)).as("lookup %d of %s", op, key).isEqualTo(modelHas);
        } else {
          assertThat(store.markProcessed(key, "w"))
              .as("record %d of %s", op, key)
              .isNotEqualTo(modelHas);
          ring[(int) (turns++ % size)] = modelHas ? null : key;
        }
      }
    }
  }

  @Test
  void theSizeMustFitTheRing() {
    assertThatThrownBy(() -> IdempotencyStore.local(0, HOUR))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> IdempotencyStore.local(Integer.MAX_VALUE, HOUR))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> IdempotencyStore.local((1 << 28) + 1, HOUR))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
