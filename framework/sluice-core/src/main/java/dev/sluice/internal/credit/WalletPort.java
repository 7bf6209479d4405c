package dev.sluice.internal.credit;

/**
 * What a {@link TokenWallet} needs from its producer. The wallet calls it without holding its own
 * lock, from the threads that call the wallet.
 */
public interface WalletPort {
  /**
   * What the producer holds right now, for its report (§6.1).
   *
   * @param spent credits spent from held tokens
   * @param unspent credits still available in held tokens
   * @param waiting sends waiting for a credit
   */
  record Holdings(int spent, int unspent, int waiting) {
    boolean empty() {
      return spent == 0 && unspent == 0 && waiting == 0;
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
