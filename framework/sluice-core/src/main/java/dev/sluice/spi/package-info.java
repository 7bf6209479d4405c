/**
 * The extension surface of Sluice: codecs, idempotency stores and middleware. Implement these
 * interfaces to plug in your own serialization, storage or cross-cutting behaviour; the ready-made
 * instances ({@link dev.sluice.spi.Codec#protobuf}, {@link dev.sluice.spi.IdempotencyStore#local},
 * ...) cover the common cases.
 */
package dev.sluice.spi;
