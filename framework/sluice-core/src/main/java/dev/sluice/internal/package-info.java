/**
 * Sluice's implementation, one concern a package; not exported by the module, and anything here may
 * change without notice. The protocol these packages implement is specified in {@code
 * protocol/PROTOCOL.md}; {@code docs/ARCHITECTURE.md} walks through them.
 *
 * <ul>
 *   <li>{@code credit}: the credit protocol (§5, §6's token handling): window, tokens, minting,
 *       replenishment, the reconciler.
 *   <li>{@code worker}: the worker runtime (§7): pull loop, the chain of steps, settling.
 *   <li>{@code producer}: the producer runtime (§6): sending, publish retry, version gate.
 *   <li>{@code wire}: pure rules pinned by the vectors: names, headers, classification, dead-letter
 *       records, trace context.
 *   <li>{@code topology}: provisioning streams, consumers and buckets (§2) from code or files.
 *   <li>{@code telemetry}: optional Micrometer and OpenTelemetry integrations.
 *   <li>{@code time}: the injected clock.
 *   <li>{@code nats}: jnats plumbing both sides share (watched KV boards, startup errors).
 *   <li>{@code proto}: classes generated from {@code control.proto}.
 * </ul>
 */
package dev.sluice.internal;
