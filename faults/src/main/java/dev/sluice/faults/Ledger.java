package dev.sluice.faults;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The account of one scenario: which sends the server acknowledged, how many times a handler
 * produced each message's effect, and which messages ended as dead letters. From these it derives
 * what the suite reports: a message is <em>lost</em> when its send was acknowledged but it was
 * neither processed nor dead-lettered; a <em>duplicate effect</em> is every effect of a message
 * beyond its first.
 *
 * <p>Pure and not thread-safe: the scenario fills it from one thread after reading the logs.
 */
final class Ledger {
  private final Set<String> acked = new HashSet<>();
  private final Map<String, Integer> effects = new HashMap<>();
  private final Set<String> deadLettered = new HashSet<>();

  /** Records that the server acknowledged the send of {@code id}. */
  Ledger acked(String id) {
    acked.add(id);
    return this;
  }

  /** Records acknowledged sends. */
  Ledger ackedAll(Collection<String> ids) {
    acked.addAll(ids);
    return this;
  }

  /** Records one handler effect of {@code id}; a second call for the same id is a duplicate. */
  Ledger effect(String id) {
    effects.merge(id, 1, Integer::sum);
    return this;
  }

  /** Records that {@code id} ended as a dead letter. */
  Ledger deadLettered(String id) {
    deadLettered.add(id);
    return this;
  }

  /** Acknowledged sends. */
  long ackedCount() {
    return acked.size();
  }

  /** Distinct messages whose effect a handler produced at least once. */
  long processedCount() {
    return effects.size();
  }

  /** Distinct messages that ended as dead letters. */
  long deadLetteredCount() {
    return deadLettered.size();
  }

  /** Acknowledged sends that were neither processed nor dead-lettered, sorted. */
  Set<String> lost() {
    Set<String> lost = new TreeSet<>();
    for (String id : acked) {
      if (!effects.containsKey(id) && !deadLettered.contains(id)) {
        lost.add(id);
      }
    }
    return lost;
  }

  /** Effects beyond each message's first, summed over all messages. */
  long duplicateEffects() {
    long d = 0;
    for (int n : effects.values()) {
      d += n - 1;
    }
    return d;
  }

  /** Ids whose effect happened more than once, sorted. */
  Set<String> duplicated() {
    Set<String> d = new TreeSet<>();
    effects.forEach(
        (id, n) -> {
          if (n > 1) {
            d.add(id);
          }
        });
    return d;
  }

  /** Whether {@code id} was processed or dead-lettered. */
  boolean settled(String id) {
    return effects.containsKey(id) || deadLettered.contains(id);
  }

  /** Whether {@code id} ended as a dead letter. */
  boolean isDeadLettered(String id) {
    return deadLettered.contains(id);
  }
}
