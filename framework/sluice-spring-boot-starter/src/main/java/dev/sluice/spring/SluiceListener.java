package dev.sluice.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Makes a bean's method the handler of one payload type on a queue. The application context starts
 * one {@code Worker} per queue with every such method as a handler, and stops it (draining
 * in-flight work) when the context closes.
 *
 * <pre>{@code
 * @Component
 * class Shipping {
 *   @SluiceListener(queue = "orders", concurrency = 8)
 *   void ship(Order order, MessageContext ctx) { ... }
 * }
 * }</pre>
 *
 * <p>The first parameter is the payload; an optional second parameter of type {@code
 * MessageContext} receives the delivery's context. The payload's {@code Sluice-Type} and version
 * come from its codec: the application's {@code Codec<Order>} bean if it has one (a protobuf codec,
 * say), else JSON with the type and version of {@link SluicePayload} on the class (or the class's
 * name and version 1). Return normally to acknowledge; throw {@code RejectMessageException} to
 * dead-letter the message now; throw anything else to have it retried with back-off.
 *
 * <p>Methods on the same queue share one worker, so {@code concurrency}, {@code prefetch} and
 * {@code maxAttempts} set on more than one of them must agree.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface SluiceListener {
  /** The queue to consume. Placeholders such as {@code ${orders.queue}} are resolved. */
  String queue();

  /** Handler threads; 0 keeps the library's default. */
  int concurrency() default 0;

  /** Messages pulled ahead of the handlers; -1 keeps the library's default. */
  int prefetch() default -1;

  /** Attempts before a failing message is dead-lettered; 0 keeps the library's default. */
  int maxAttempts() default 0;
}
