package dev.sluice.internal.credit;

import java.util.ArrayList;
import java.util.List;

/** Pure credit arithmetic: protocol/PROTOCOL.md §5.3 and §5.5. */
public final class Credits {
  /** The largest token value the protocol allows. */
  public static final int MAX_TOKEN = 1 << 20;

  private Credits() {}

  /** True for 1, 2, 4, ... */
  public static boolean isPowerOfTwo(long n) {
    return n > 0 && (n & (n - 1)) == 0;
  }

  /**
   * Token values for {@code credits} with batch {@code batch}: {@code floor(c / b)} tokens of
   * {@code b}, then the binary decomposition of the rest, largest first.
   */
  public static List<Integer> decompose(long credits, int batch) {
    if (!isPowerOfTwo(batch) || batch > MAX_TOKEN) {
      throw new IllegalArgumentException("batch " + batch + " is not a power of two <= 2^20");
    }
    if (credits < 0) {
      throw new IllegalArgumentException("credits < 0");
    }
    List<Integer> out = new ArrayList<>();
    for (long i = 0; i < credits / batch; i++) {
      out.add(batch);
    }
    long rest = credits % batch;
    for (int p = batch; rest > 0; p >>= 1) {
      if (p <= rest) {
        out.add(p);
        rest -= p;
      }
    }
    return out;
  }

  /** The value of a token from its subject's last token; -1 when it is not a valid value. */
  public static long tokenValue(String subject) {
    int dot = subject.lastIndexOf('.');
    try {
      long n = Long.parseLong(subject.substring(dot + 1));
      return isPowerOfTwo(n) && n <= MAX_TOKEN ? n : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** What the reconciler does after one audit (§5.5). */
  public record Decision(long deficit, Action action, long credits) {}

  /** The reconciler's possible actions. */
  public enum Action {
    NONE,
    MINT,
    BURN
  }

  /**
   * The reconciler's decision: {@code d = W − (B + T − S + O)}; mint or burn only when the previous
   * audit agrees in sign, by the smaller magnitude.
   */
  public static Decision reconcile(
      long window, long backlog, long tokens, long heldSpent, long owed, long previousDeficit) {
    long d = window - (backlog + tokens - heldSpent + owed);
    if (d > 0 && previousDeficit > 0) {
      return new Decision(d, Action.MINT, Math.min(d, previousDeficit));
    }
    if (d < 0 && previousDeficit < 0) {
      return new Decision(d, Action.BURN, Math.min(-d, -previousDeficit));
    }
    return new Decision(d, Action.NONE, 0);
  }

  /**
   * What the reconciler counts as held spent (§5.5 [v1.1]): the producers' reports, but never more
   * than the tokens they hold can carry ({@code heldTokens × batch}) nor more than the stored
   * tokens {@code tokens}. A report is written by a producer, which may lie; without the bound a
   * report claiming a huge {@code held_spent} would make the reconciler mint that much.
   */
  public static long boundHeldSpent(long reported, long heldTokens, int batch, long tokens) {
    return Math.max(0, Math.min(reported, Math.min(heldTokens * batch, tokens)));
  }

  /**
   * What a confirmed surplus of {@code surplus} credits burns after the tolerance (§5.5): {@code
   * liveProducers × batch + max(0, heldTokens × batch − heldSpent)}. One token per live producer
   * [v1.2] ({@code batch} is the queue's token batch, never a worker's b'), plus what the producers
   * hold and have not reported spent [v1.3]: a busy producer holding several tokens reports once
   * per maintenance cycle, and what it spends meanwhile is in B and in T but not yet in S. {@code
   * heldTokens} is the credit consumer's num_ack_pending (the larger of a reading before B and one
   * after T), {@code heldSpent} the bounded Σ held_spent ({@link #boundHeldSpent}); with {@code
   * heldTokens} 0 the rule is that of revision 1.2. The second term counts only while some producer
   * is live: a crashed producer's token stays held until it is redelivered, and with no live
   * producer its duplicated credits burn as in §5.6. Pinned by the {@code reconcile} vectors.
   */
  public static long burnAmount(
      long surplus, int liveProducers, int batch, long heldTokens, long heldSpent) {
    long unreported = liveProducers > 0 ? Math.max(0, heldTokens * batch - heldSpent) : 0;
    long tolerance = liveProducers * (long) batch + unreported;
    return Math.max(0, surplus - tolerance);
  }

  /**
   * How much of a confirmed surplus may be announced as a debt (§5.5 [v1.3]): {@code max(0, backlog
   * + owed − debt)}, the messages and owed credits the workers still have to finish beyond the debt
   * already pending; a worker pays a debt only by withholding the credits of what it finishes. 0
   * (an idle queue) means: announce nothing, fetch the surplus. Pinned by the {@code debt} vectors.
   */
  public static long debtPayable(long backlog, long owed, long debtPending) {
    return Math.max(0, backlog + owed - debtPending);
  }

  /**
   * Whether a pending debt holds back a mint (§5.5 [v1.3]): while something is left to finish
   * ({@code backlog + owed > 0}), a debt being absorbed reads as a small deficit when adverts lag;
   * with nothing left to finish a deficit is real. Pinned by the {@code debt} vectors.
   */
  public static boolean mintHeldBackByDebt(long debtPending, long backlog, long owed) {
    return debtPending > 0 && backlog + owed > 0;
  }

  /**
   * b' (§5.4): {@code min(b, the largest power of two ≤ max(1, capacity / 2))}, capacity / 2 in
   * integer division.
   */
  public static int effectiveBatch(int batch, int capacity) {
    return Math.min(batch, Integer.highestOneBit(Math.max(1, capacity / 2)));
  }

  /**
   * The replenishment linger in whole milliseconds (§5.4 [v1.2]): {@code floor(clamp(b' / rate ×
   * 1000, 2, 20))}, and 20 while no rate is measured.
   */
  public static long lingerMillis(int batch, double rate) {
    double ms = rate > 0 ? batch / rate * 1000 : 20;
    return (long) Math.max(2, Math.min(20, ms));
  }

  /**
   * The advertised service rate after one heartbeat (§5.2 [v1.2]): {@code completed} finishes in
   * {@code seconds}, averaged as {@code 0.3 × instant + 0.7 × previous} (the instant rate while the
   * previous one is 0).
   */
  public static double serviceRate(double previous, long completed, double seconds) {
    double instant = completed / seconds;
    return previous == 0 ? instant : 0.3 * instant + 0.7 * previous;
  }
}
