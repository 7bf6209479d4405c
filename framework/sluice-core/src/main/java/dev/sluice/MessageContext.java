package dev.sluice;

import java.util.List;
import java.util.Map;

/**
 * What a handler knows about the delivery it is handling. Valid for the duration of the handler
 * call; not thread-safe to share beyond it.
 */
public interface MessageContext {
  /** The queue the message was consumed from. */
  String queue();

  /** The {@code Nats-Msg-Id}. */
  String messageId();

  /** The delivery count from JetStream metadata: 1 on the first delivery. */
  long attempt();

  /** The {@code Sluice-Type} on the wire. */
  String type();

  /** The version on the wire, before any upcasting. */
  int version();

  /** The message's sequence in the work stream. */
  long streamSequence();

  /** The W3C trace id this handler continues (32 hex characters). */
  String traceId();

  /** The handler's own span id (16 hex characters), a child of the producer's span. */
  String spanId();

  /** The {@code traceparent} for the handler's span: pass it to anything the handler calls. */
  String traceparent();

  /** Every header of the message, first values only. */
  Map<String, String> headers();

  /** Every value of one header, or an empty list. */
  List<String> header(String name);

  /** The raw payload bytes as received. */
  byte[] payload();

  /** The decoded (and upcast) payload: the same object the handler receives. */
  Object value();

  /** The id of the worker handling the message. */
  String workerId();
}
