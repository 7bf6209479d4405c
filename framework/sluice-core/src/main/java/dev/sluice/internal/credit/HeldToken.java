package dev.sluice.internal.credit;

/**
 * A credit token received from a queue's credit consumer and held un-acked by a producer (protocol
 * §6.3): what the {@link TokenWallet} needs of it, apart from the live connection.
 */
public interface HeldToken {
  /** Credits the token is worth (from its subject, §5.3). */
  int value();

  /** Acknowledges the token: its credits leave circulation. */
  void ack();

  /** Gives the token back unspent: it is at once available to other producers. */
  void nak();

  /** Sends AckProgress, so the server does not redeliver the token while it is held. */
  void extendLease();
}
