package dev.sluice.internal.nats;

import io.nats.client.JetStreamApiException;

/**
 * The JetStream API error codes Sluice reacts to, in one place. The server reports them as {@code
 * err_code} in an API error; jnats exposes them as {@link JetStreamApiException#getApiErrorCode()}.
 */
public final class ApiErrors {
  /** The consumer does not exist. */
  public static final int CONSUMER_NOT_FOUND = 10014;

  /** No message matches a direct or next-by-subject get. */
  public static final int NO_MESSAGE_FOUND = 10037;

  /** The stream (or the stream behind a KV bucket) does not exist. */
  public static final int STREAM_NOT_FOUND = 10059;

  /** A compare-and-set on the last sequence failed: for a KV create, the key exists. */
  public static final int WRONG_LAST_SEQUENCE = 10071;

  /** The stream holds {@code max_msgs} and discards new messages: the work stream's hard wall. */
  public static final int MAX_MESSAGES = 10077;

  private ApiErrors() {}

  /** True when {@code e} says the stream does not exist. */
  public static boolean streamNotFound(JetStreamApiException e) {
    return e.getApiErrorCode() == STREAM_NOT_FOUND;
  }

  /** True when {@code e} says the consumer does not exist. */
  public static boolean consumerNotFound(JetStreamApiException e) {
    return e.getApiErrorCode() == CONSUMER_NOT_FOUND;
  }

  /** True when a message get found nothing (older servers answer a bare 404). */
  public static boolean noMessage(JetStreamApiException e) {
    return e.getApiErrorCode() == NO_MESSAGE_FOUND || e.getErrorCode() == 404;
  }
}
