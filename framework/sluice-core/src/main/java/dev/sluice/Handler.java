package dev.sluice;

/**
 * Handles one decoded payload. Return normally for success; throw {@link RejectMessageException}
 * for a message that can never succeed; throw anything else to have it retried with back-off.
 *
 * @param <T> the payload type
 */
@FunctionalInterface
public interface Handler<T> {
  void handle(T payload, MessageContext context) throws Exception;
}
