/** The worker runtime (§7): pulls with bounded in-flight and settles every delivery once. */
package dev.sluice.internal.worker;
