package dev.sluice.internal.producer;

import io.nats.client.impl.Headers;

/**
 * A send's header block, built once and then sealed: jnats sends a sealed block as it is. jnats
 * copies every header block that does not say it is read-only when it queues a publish (both maps,
 * every entry), and a {@code Headers} can only be made read-only by copying it; sealing is that
 * copy without the copy. The send's owner seals it right before handing it to jnats and never
 * changes it afterwards (a retry sends the same block: the same {@code Nats-Msg-Id}). Not
 * thread-safe until sealed; immutable afterwards by convention.
 */
final class SealedHeaders extends Headers {
  private boolean sealed;

  /** From now on jnats may keep this block instead of copying it. */
  SealedHeaders seal() {
    sealed = true;
    return this;
  }

  /** True once sealed: jnats then neither copies nor freezes the block again. */
  @Override
  public boolean isReadOnly() {
    return sealed || super.isReadOnly();
  }
}
