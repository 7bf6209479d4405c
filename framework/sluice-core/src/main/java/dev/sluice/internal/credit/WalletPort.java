package dev.sluice.internal.credit;

/**
 * What a {@link TokenWallet} needs from its producer. The wallet calls it without holding its own
 * lock, from the threads that call the wallet.
 */
public interface WalletPort {
  /**
   * What the producer holds right now, for its report (§6.1).
   *
   * @param spent credits spent from held tokens whose publish the stream has stored (the report's
   *     {@code held_spent}, §6.1 [v1.3]): a publish still in progress is not in the backlog yet,
   *     and counted as spent it would read as a deficit that the reconciler mints
   * @param unspent credits still available in held tokens
   * @param waiting sends waiting for a credit
   * @param inFlight credits reserved for a publish still in progress (not in {@code spent})
   */
  record Holdings(int spent, int unspent, int waiting, int inFlight) {
    boolean empty() {
      return spent == 0 && unspent == 0 && waiting == 0 && inFlight == 0;
    }
  }

  /** Writes the producer report (§6.1); throws when it could not be written. */
  void report(Holdings holdings) throws Exception;

  /** The error for a send whose acquire deadline passed (§6.8). */
  RuntimeException timedOut();

  /** Sends that held credits do not cover grew: the puller may need another pull (§6.2). */
  void demandChanged();

  /** A token is fully spent: call {@link TokenWallet#settle()} soon, so it is acked (§6.6). */
  void settleSoon();
}
