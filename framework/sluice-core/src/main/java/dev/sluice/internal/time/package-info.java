/** Injected time: the runtime reads clocks through {@link dev.sluice.internal.time.Clock}. */
package dev.sluice.internal.time;
