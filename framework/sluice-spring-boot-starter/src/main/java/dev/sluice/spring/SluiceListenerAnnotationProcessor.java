package dev.sluice.spring;

import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.context.EmbeddedValueResolverAware;
import org.springframework.core.MethodIntrospector;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.util.StringValueResolver;

/**
 * Finds the {@link SluiceListener} methods of every bean as the context creates it, and checks
 * their signatures then, so a wrong one fails the start-up with its name. {@link
 * SluiceListenerContainer} starts the workers.
 */
public class SluiceListenerAnnotationProcessor
    implements BeanPostProcessor, EmbeddedValueResolverAware {
  private final List<ListenerMethod> found = new CopyOnWriteArrayList<>();
  private StringValueResolver resolver;

  @Override
  public void setEmbeddedValueResolver(StringValueResolver resolver) {
    this.resolver = resolver;
  }

  @Override
  public Object postProcessAfterInitialization(Object bean, String beanName) {
    Class<?> target = AopUtils.getTargetClass(bean);
    Map<Method, SluiceListener> methods =
        MethodIntrospector.selectMethods(
            target,
            (MethodIntrospector.MetadataLookup<SluiceListener>)
                m -> AnnotatedElementUtils.findMergedAnnotation(m, SluiceListener.class));
    methods.forEach(
        (method, annotation) -> {
          Method invocable = AopUtils.selectInvocableMethod(method, bean.getClass());
          String queue =
              resolver == null
                  ? annotation.queue()
                  : resolver.resolveStringValue(annotation.queue());
          found.add(ListenerMethod.of(bean, invocable, annotation, queue));
        });
    return bean;
  }

  /** Every listener method found so far. */
  List<ListenerMethod> listeners() {
    return List.copyOf(found);
  }
}
