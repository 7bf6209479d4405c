package dev.sluice.internal.credit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The weighted max-min fair order of waiting sends across fairness keys (protocol §15.3). */
class FairQueueTest {
  final Map<String, Integer> weights = new HashMap<>();
  final FairQueue<String> q = new FairQueue<>(k -> weights.getOrDefault(k, 1));

  /** Queues {@code n} sends of {@code key}, named key + index. */
  void add(String key, int n) {
    for (int i = 0; i < n; i++) {
      q.add(key, key + i);
    }
  }

  List<String> poll(int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(q.poll());
    }
    return out;
  }

  Map<String, Integer> countKeys(List<String> sends) {
    Map<String, Integer> out = new HashMap<>();
    for (String s : sends) {
      out.merge(s.replaceAll("[0-9]+$", ""), 1, Integer::sum);
    }
    return out;
  }

  @Test
  void oneKeyIsArrivalOrder() {
    add("a", 5);
    assertThat(poll(5)).containsExactly("a0", "a1", "a2", "a3", "a4");
    assertThat(q.poll()).isNull();
    assertThat(q.isEmpty()).isTrue();
  }

  @Test
  void aQuietKeyIsNotQueuedBehindAFlood() {
    add("flood", 1000);
    add("quiet", 2);
    // Equal weights alternate: the quiet key's sends are the 2nd and 4th grants, not the 1001st.
    assertThat(poll(4)).containsExactly("flood0", "quiet0", "flood1", "quiet1");
    assertThat(poll(3)).containsExactly("flood2", "flood3", "flood4");
  }

  @Test
  void weightsShareTheGrantsInProportion() {
    weights.put("heavy", 3);
    add("heavy", 3000);
    add("light", 3000);
    Map<String, Integer> got = countKeys(poll(400));
    assertThat(got).containsEntry("heavy", 300).containsEntry("light", 100);
  }

  @Test
  void aKeyAskingForLessThanItsShareGetsAllItAsksAndTheRestIsSharedByWeight() {
    weights.put("a", 2);
    add("a", 1000);
    add("b", 1000);
    add("small", 5);
    // Over 100 grants the equal share would be 33 each; "small" asks for 5 and gets 5, and a and b
    // share the remaining 95 in the ratio 2:1 (within one round).
    Map<String, Integer> got = countKeys(poll(100));
    assertThat(got.get("small")).isEqualTo(5);
    assertThat(got.get("a")).isBetween(62, 65);
    assertThat(got.get("a") + got.get("b")).isEqualTo(95);
  }

  @Test
  void sendsWithoutAKeyAreOneMoreKey() {
    add(FairQueue.NO_KEY, 3);
    add("t", 3);
    assertThat(poll(4)).containsExactly("0", "t0", "1", "t1");
  }

  @Test
  void aKeyThatEmptiesForgetsItsDeficit() {
    weights.put("a", 4);
    add("a", 1);
    add("b", 10);
    assertThat(poll(2)).containsExactly("a0", "b0");
    // "a" comes back: a fresh turn of 4, not the 3 it did not use before.
    add("a", 10);
    List<String> next = poll(6);
    assertThat(countKeys(next).get("a")).isEqualTo(4);
  }

  @Test
  void removeIfKeepsTheOrderOfTheRest() {
    add("a", 3);
    add("b", 3);
    assertThat(q.removeIf(s -> s.equals("a1") || s.startsWith("b"))).hasSize(4);
    assertThat(q.size()).isEqualTo(2);
    assertThat(poll(2)).containsExactly("a0", "a2");
    assertThat(q.poll()).isNull();
  }

  @Test
  void topListsTheBusiestKeysWithWeightsAndGrants() {
    weights.put("b", 5);
    add("a", 1);
    add("b", 4);
    add("c", 2);
    q.poll(); // a0
    List<FairQueue.KeyState> top = q.top(2);
    assertThat(top)
        .containsExactly(
            new FairQueue.KeyState("b", 5, 4, 0), new FairQueue.KeyState("c", 1, 2, 0));
    assertThat(q.top(10)).contains(new FairQueue.KeyState("a", 1, 0, 1));
    q.forgetIdle();
    assertThat(q.keys()).isEqualTo(2);
  }
}
