package dev.sluice.internal.wire;

import dev.sluice.SluiceHeaders;
import dev.sluice.internal.nats.ApiErrors;
import java.util.regex.Pattern;

/**
 * Names and constants of protocol {@code sluice/v1} (protocol/PROTOCOL.md §2, §3). Header names are
 * defined once, in the public {@link SluiceHeaders}; the aliases here keep the runtime's spelling.
 */
public final class Protocol {
  public static final int VERSION = 1;

  public static final String H_MSG_ID = SluiceHeaders.MSG_ID;
  public static final String H_PROTOCOL = SluiceHeaders.PROTOCOL;
  public static final String H_TYPE = SluiceHeaders.TYPE;
  public static final String H_TYPE_VERSION = SluiceHeaders.TYPE_VERSION;
  public static final String H_CONTENT_TYPE = SluiceHeaders.CONTENT_TYPE;
  public static final String H_TRACEPARENT = SluiceHeaders.TRACEPARENT;
  public static final String H_TRACESTATE = SluiceHeaders.TRACESTATE;
  public static final String H_PRODUCER = SluiceHeaders.PRODUCER;
  public static final String H_SENT_AT = SluiceHeaders.SENT_AT;
  public static final String H_REPLAY_OF = SluiceHeaders.REPLAY_OF;
  public static final String H_FAIRNESS_KEY = SluiceHeaders.FAIRNESS_KEY;

  public static final String H_DLQ_REASON = SluiceHeaders.DLQ_REASON;
  public static final String H_DLQ_ERROR = SluiceHeaders.DLQ_ERROR;
  public static final String H_DLQ_ATTEMPTS = SluiceHeaders.DLQ_ATTEMPTS;
  public static final String H_DLQ_STREAM = SluiceHeaders.DLQ_STREAM;
  public static final String H_DLQ_STREAM_SEQ = SluiceHeaders.DLQ_STREAM_SEQ;
  public static final String H_DLQ_SUBJECT = SluiceHeaders.DLQ_SUBJECT;
  public static final String H_DLQ_WORKER = SluiceHeaders.DLQ_WORKER;
  public static final String H_DLQ_AT = SluiceHeaders.DLQ_AT;
  public static final String H_DLQ_MSG_ID = SluiceHeaders.DLQ_MSG_ID;

  public static final String DEFAULT_CONTENT_TYPE = "application/x-protobuf";

  public static final String CREDIT_STREAM = "SLUICE_CREDITS";
  public static final String DLQ_STREAM = "SLUICE_DLQ";
  public static final String WORKER_CONSUMER = "workers";
  public static final String CAPACITY_BUCKET = "sluice-capacity";
  public static final String CONTROL_BUCKET = "sluice-control";
  public static final String PROCESSED_BUCKET = dev.sluice.spi.IdempotencyStore.SHARED_BUCKET;

  /** JetStream error code for "maximum messages exceeded": the work stream's hard wall. */
  public static final int ERR_MAX_MSGS = ApiErrors.MAX_MESSAGES;

  public static final Pattern QUEUE_NAME = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$");
  public static final Pattern ID = Pattern.compile("^[A-Za-z0-9_-]{1,64}$");

  private Protocol() {}

  public static String workStream(String q) {
    return "SLUICE_Q_" + q;
  }

  public static String workSubject(String q) {
    return "sluice.q." + q;
  }

  public static String creditFilter(String q) {
    return "sluice.credit." + q + ".>";
  }

  public static String creditSubject(String q, long credits) {
    return "sluice.credit." + q + "." + credits;
  }

  public static String creditConsumer(String q) {
    return "credits-" + q;
  }

  public static String dlqSubject(String q) {
    return "sluice.dlq." + q;
  }

  public static String advertKey(String q, String workerId) {
    return q + "." + workerId;
  }

  public static String producerKey(String q, String producerId) {
    return "producer." + q + "." + producerId;
  }

  public static String reconcilerKey(String q) {
    return "reconciler." + q;
  }

  public static String settingsKey(String q) {
    return "queue." + q;
  }

  /** Throws {@link IllegalArgumentException} naming the rule when {@code q} is not a queue name. */
  public static String requireQueueName(String q) {
    if (q == null || !QUEUE_NAME.matcher(q).matches()) {
      throw new IllegalArgumentException(
          "queue name '" + q + "' must match " + QUEUE_NAME.pattern() + " (letters, digits, _ -)");
    }
    return q;
  }

  /** Throws {@link IllegalArgumentException} when {@code id} is not a worker or producer id. */
  public static String requireId(String what, String id) {
    if (id == null || !ID.matcher(id).matches()) {
      throw new IllegalArgumentException(what + " '" + id + "' must match " + ID.pattern());
    }
    return id;
  }
}
