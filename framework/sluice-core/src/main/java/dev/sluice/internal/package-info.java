/**
 * Sluice's implementation: the pull loop, outcomes, credit pump, reconciler, topology. Not exported
 * by the module; anything here may change without notice. The protocol these classes implement is
 * specified in {@code protocol/PROTOCOL.md}.
 */
package dev.sluice.internal;
