/**
 * JSON payloads for Sluice on Jackson: {@link dev.sluice.jackson.JsonCodec} reads and writes
 * records and POJOs as {@code application/json}.
 *
 * <p>A JSON codec is a {@link dev.sluice.spi.Codec} like the protobuf one, so workers, producers,
 * upcasters and dead letters treat JSON and protobuf payloads alike, and a queue may carry both.
 */
package dev.sluice.jackson;
