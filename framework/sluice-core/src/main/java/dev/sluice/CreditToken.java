package dev.sluice;

import java.time.Instant;
import java.util.Objects;

/**
 * A credit token stored in the credit stream (PROTOCOL.md §5.3): who minted it, when and why. Read
 * by {@link Sluice#creditTokens(String, int)} to trace where a queue's credits came from. Immutable
 * and thread-safe.
 *
 * @param sequence its sequence in the credit stream
 * @param credits what it is worth (a power of two)
 * @param mintedBy the id of the worker or producer that minted it
 * @param mintedAt when it was minted
 * @param reason why it was minted
 */
public record CreditToken(
    long sequence, long credits, String mintedBy, Instant mintedAt, Reason reason) {

  /** Rejects nulls. */
  public CreditToken {
    Objects.requireNonNull(mintedBy, "mintedBy");
    Objects.requireNonNull(mintedAt, "mintedAt");
    Objects.requireNonNull(reason, "reason");
  }

  /** Why a token was minted. */
  public enum Reason {
    /** A worker replenished the credits of messages it finished. */
    REPLENISH,
    /** The reconciler minted a deficit two audits agreed on. */
    RECONCILE,
    /** A producer returned credits it held and did not spend. */
    RETURN,
    /** Provisioning minted the standing buffer of a fresh queue. */
    BOOTSTRAP,
    /** A token whose body this version cannot read or whose reason it does not know. */
    UNKNOWN
  }
}
