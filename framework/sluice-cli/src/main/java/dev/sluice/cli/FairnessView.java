package dev.sluice.cli;

import dev.sluice.ProducerReport;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The fairness keys of a queue's live producers (protocol §15.3), summed over producers: each key's
 * sends waiting, credits granted, share of the grants and weights, and the key that dominates the
 * waiting sends, if one does. Empty when no live producer sends with keys.
 */
final class FairnessView {
  /** A key dominates when it holds at least this share of the waiting sends of 2+ keys. */
  static final double DOMINANT_SHARE = 0.8;

  /** The most keys the tables show; the JSON has every reported key. */
  static final int SHOWN = 10;

  record Key(String key, long waiting, long granted, double share, TreeSet<Integer> weights) {
    String weightText() {
      return weights.size() == 1 ? "" + weights.first() : weights.toString().replace(" ", "");
    }
  }

  final List<Key> keys;
  final long waiting;

  private FairnessView(List<Key> keys) {
    this.keys = keys;
    this.waiting = keys.stream().mapToLong(Key::waiting).sum();
  }

  static FairnessView of(List<ProducerReport> producers) {
    Map<String, long[]> sums = new LinkedHashMap<>();
    Map<String, TreeSet<Integer>> weights = new LinkedHashMap<>();
    for (ProducerReport r : producers) {
      if (!r.live()) {
        continue;
      }
      for (ProducerReport.FairnessKey k : r.fairnessKeys()) {
        long[] s = sums.computeIfAbsent(k.key(), x -> new long[2]);
        s[0] += k.waiting();
        s[1] += k.grantedTotal();
        weights.computeIfAbsent(k.key(), x -> new TreeSet<>()).add(k.weight());
      }
    }
    long granted = sums.values().stream().mapToLong(s -> s[1]).sum();
    List<Key> keys = new ArrayList<>();
    sums.forEach(
        (k, s) ->
            keys.add(
                new Key(
                    k, s[0], s[1], granted == 0 ? 0 : s[1] / (double) granted, weights.get(k))));
    keys.sort(
        Comparator.comparingLong(Key::waiting)
            .thenComparingLong(Key::granted)
            .reversed()
            .thenComparing(Key::key));
    return new FairnessView(keys);
  }

  boolean inUse() {
    return !keys.isEmpty();
  }

  /** The key holding at least {@link #DOMINANT_SHARE} of the sends waiting, with 2+ keys known. */
  Key dominant() {
    if (keys.size() < 2 || waiting == 0) {
      return null;
    }
    Key top = keys.get(0);
    return top.waiting() >= DOMINANT_SHARE * waiting ? top : null;
  }

  /** A key's name as shown: the empty key is the sends without a key. */
  static String name(String key) {
    return key.isEmpty() ? "(no key)" : key;
  }

  /** One line for status: the busiest keys with their share of the grants and sends waiting. */
  String line(String queue) {
    StringBuilder b = new StringBuilder(queue + " fairness keys: ");
    int n = 0;
    for (Key k : keys) {
      if (n++ == SHOWN) {
        b.append(", ... (" + (keys.size() - SHOWN) + " more)");
        break;
      }
      b.append(n > 1 ? ", " : "")
          .append(
              String.format(
                  java.util.Locale.ROOT,
                  "%s %.0f%% of grants (weight %s, %d waiting)",
                  name(k.key()),
                  k.share() * 100,
                  k.weightText(),
                  k.waiting()));
    }
    Key d = dominant();
    if (d != null) {
      b.append("; ").append(name(d.key())).append(" dominates the waiting sends");
    }
    return b.toString();
  }

  Map<String, Object> json() {
    Map<String, Object> m = Json.obj();
    List<Object> ks = new ArrayList<>();
    for (Key k : keys) {
      Map<String, Object> o = Json.obj();
      o.put("key", k.key());
      o.put("waiting", k.waiting());
      o.put("granted_total", k.granted());
      o.put("share", Math.round(k.share() * 1000) / 1000.0);
      o.put("weights", new ArrayList<>(k.weights()));
      ks.add(o);
    }
    m.put("keys", ks);
    m.put("waiting", waiting);
    Key d = dominant();
    m.put("dominant", d == null ? null : d.key());
    return m;
  }

  static Map<String, Object> producerKeys(ProducerReport r) {
    Map<String, Object> m = Json.obj();
    for (ProducerReport.FairnessKey k : r.fairnessKeys()) {
      Map<String, Object> o = Json.obj();
      o.put("weight", k.weight());
      o.put("waiting", k.waiting());
      o.put("granted_total", k.grantedTotal());
      m.put(k.key(), o);
    }
    return m;
  }
}
