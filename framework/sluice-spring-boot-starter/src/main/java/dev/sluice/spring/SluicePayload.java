package dev.sluice.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Names the {@code Sluice-Type} and schema version of a class sent and received as JSON when the
 * application declares no {@code Codec} bean for it. Without it, the type is the class's canonical
 * name and the version 1.
 *
 * <pre>{@code
 * @SluicePayload(type = "acme.Order", version = 2)
 * record Order(String orderId, List<Line> items) {}
 * }</pre>
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface SluicePayload {
  /** The {@code Sluice-Type}, e.g. {@code acme.Order}. */
  String type();

  /** The schema version, 1 or more. */
  int version() default 1;
}
