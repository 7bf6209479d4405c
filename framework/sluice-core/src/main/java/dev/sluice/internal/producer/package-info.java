/** The producer runtime (§6): acquires credits, publishes with retry, checks versions (§4.3). */
package dev.sluice.internal.producer;
