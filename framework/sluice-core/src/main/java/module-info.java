/**
 * Sluice: durable work queues on NATS JetStream with credit-based flow control. Exports the public
 * API ({@code dev.sluice}) and the extension surface ({@code dev.sluice.spi}); everything in {@code
 * dev.sluice.internal} may change without notice.
 */
module dev.sluice {
  requires transitive io.nats.jnats;
  // Not static, even for applications whose payloads are all JSON: Sluice's own control messages
  // (adverts, credit tokens, reports, ledgers, queue settings) are protobuf by the protocol, and
  // their generated classes are in this module. docs/JSON.md says what making it optional would
  // take and why it was not done.
  requires com.google.protobuf;
  requires dev.failsafe.core;
  requires com.cronutils;
  requires org.slf4j;
  requires java.management;
  requires static micrometer.core;
  requires static io.opentelemetry.api;
  requires static io.opentelemetry.context;

  exports dev.sluice;
  exports dev.sluice.spi;
}
