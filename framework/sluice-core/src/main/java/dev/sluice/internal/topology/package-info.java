/**
 * Provisioning (§2): the streams, consumers and KV buckets of a queue, built from a {@code
 * QueueSpec} or loaded from a {@code jetstream-config/} directory, and applied idempotently.
 */
package dev.sluice.internal.topology;
