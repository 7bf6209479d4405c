/**
 * Pure rules of the wire protocol, each pinned by {@code protocol/vectors}: names and limits (§2),
 * the header check (§3), classification of a delivery before and after its handler (§4.2, §7.2),
 * idempotency keys (§9), dead-letter records (§8) and trace context (§10). No I/O.
 */
package dev.sluice.internal.wire;
