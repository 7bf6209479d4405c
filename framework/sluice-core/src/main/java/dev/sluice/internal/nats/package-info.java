/** jnats plumbing shared by producers and workers: watched KV boards, errors at startup. */
package dev.sluice.internal.nats;
