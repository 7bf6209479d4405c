package dev.sluice.spring;

import dev.sluice.Handler;
import dev.sluice.MessageContext;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import org.springframework.util.ReflectionUtils;

/**
 * One {@code @SluiceListener} method on one bean, checked: its payload class, whether it takes the
 * {@link MessageContext}, its queue (placeholders resolved) and its worker settings.
 */
record ListenerMethod(
    Object bean,
    Method method,
    String queue,
    Class<?> payloadType,
    boolean takesContext,
    int concurrency,
    int prefetch,
    int maxAttempts) {

  static ListenerMethod of(Object bean, Method method, SluiceListener annotation, String queue) {
    Class<?>[] params = method.getParameterTypes();
    boolean ok =
        (params.length == 1 || (params.length == 2 && params[1] == MessageContext.class))
            && params[0] != MessageContext.class;
    if (!ok) {
      throw new SluiceStartupException(
          "@SluiceListener method "
              + describe(method)
              + " has parameters "
              + java.util.Arrays.stream(params)
                  .map(Class::getSimpleName)
                  .collect(java.util.stream.Collectors.joining(", ", "(", ")")),
          "it must take (Payload) or (Payload, MessageContext)",
          null);
    }
    if (queue == null || queue.isBlank()) {
      throw new SluiceStartupException(
          "@SluiceListener method " + describe(method) + " names no queue",
          "set queue = \"...\" (or a placeholder that resolves to a name)",
          null);
    }
    ReflectionUtils.makeAccessible(method);
    return new ListenerMethod(
        bean,
        method,
        queue,
        params[0],
        params.length == 2,
        annotation.concurrency(),
        annotation.prefetch(),
        annotation.maxAttempts());
  }

  /** A handler that calls the method; what the method throws reaches the worker unchanged. */
  Handler<Object> handler() {
    return (payload, ctx) -> {
      try {
        if (takesContext) {
          method.invoke(bean, payload, ctx);
        } else {
          method.invoke(bean, payload);
        }
      } catch (InvocationTargetException e) {
        Throwable cause = e.getCause();
        if (cause instanceof Exception ex) {
          throw ex;
        }
        if (cause instanceof Error err) {
          throw err;
        }
        throw e;
      }
    };
  }

  String describe() {
    return describe(method);
  }

  private static String describe(Method m) {
    return m.getDeclaringClass().getName() + "." + m.getName() + "(..)";
  }
}
