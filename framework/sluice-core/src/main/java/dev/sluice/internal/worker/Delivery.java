package dev.sluice.internal.worker;

import dev.sluice.internal.wire.Classifier;
import dev.sluice.internal.wire.HeaderCheck;
import dev.sluice.internal.wire.TraceContext;
import io.nats.client.Message;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsJetStreamMetaData;

/**
 * One delivery on its way through the chain: the message and what the steps learn about it. Owned
 * by the one handler thread that runs the chain for it; not thread-safe.
 */
final class Delivery {
  final Message msg;
  final NatsJetStreamMetaData meta;
  final Headers headers;
  final byte[] data;
  HeaderCheck.Result hc;
  Classifier.NotHandled notHandled;

  /** The version the payload was decoded at (after upcasting). */
  int decodedVersion;

  /** The decoded (and upcast) payload. */
  Object value;

  TraceContext span;

  /** Set by the step that settled the delivery early; the rest of the chain did not run. */
  boolean settled;

  /** The handler succeeded, but another delivery of the same message had finished it first. */
  boolean lateDuplicate;

  Delivery(Message msg) {
    this.msg = msg;
    this.meta = msg.metaData();
    this.headers = msg.getHeaders();
    this.data = msg.getData() == null ? new byte[0] : msg.getData();
  }

  long attempt() {
    return meta.deliveredCount();
  }

  String msgId() {
    return hc != null && hc.valid() ? hc.msgId() : "?";
  }
}
