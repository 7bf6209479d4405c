package dev.sluice.spring;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.jackson.JsonCodec;
import dev.sluice.spi.Codec;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.core.ResolvableType;

/**
 * Finds the codec of a Java type: the application's one {@code Codec<T>} bean for it (protobuf or
 * any other; a protobuf message must have one), else a {@link JsonCodec} with the type and version
 * of {@link SluicePayload} on the class, or the class's canonical name and version 1.
 * {@code @SluiceListener} parameters and {@link SluiceTemplate#send(String, Object)} use it, so a
 * listener and a sender in the same application agree on the wire type without naming it twice.
 */
public class SluiceCodecs {
  private final ListableBeanFactory beans;
  private final ObjectMapper mapper;
  private final ConcurrentMap<Class<?>, Codec<?>> cache = new ConcurrentHashMap<>();

  /**
   * @param beans where to look for {@code Codec} beans
   * @param mapper the mapper of the JSON codecs it makes
   */
  public SluiceCodecs(ListableBeanFactory beans, ObjectMapper mapper) {
    this.beans = beans;
    this.mapper = mapper;
  }

  /**
   * The codec for {@code javaType}.
   *
   * @throws IllegalStateException if the application has more than one {@code Codec} bean for it
   */
  @SuppressWarnings("unchecked")
  public <T> Codec<T> forClass(Class<T> javaType) {
    return (Codec<T>) cache.computeIfAbsent(javaType, this::resolve);
  }

  private Codec<?> resolve(Class<?> javaType) {
    String[] names =
        beans.getBeanNamesForType(ResolvableType.forClassWithGenerics(Codec.class, javaType));
    if (names.length == 1) {
      return beans.getBean(names[0], Codec.class);
    }
    if (names.length > 1) {
      throw new IllegalStateException(
          "more than one Codec<"
              + javaType.getName()
              + "> bean "
              + Arrays.toString(names)
              + ": keep one per payload class (a class has one wire type and version)");
    }
    if (com.google.protobuf.MessageLite.class.isAssignableFrom(javaType)) {
      throw new IllegalStateException(
          "no Codec<"
              + javaType.getName()
              + "> bean for a protobuf message: declare one, e.g. @Bean Codec<"
              + javaType.getSimpleName()
              + "> codec() { return Codec.protobuf(\"acme.Type\", 1, "
              + javaType.getSimpleName()
              + ".parser()); }");
    }
    SluicePayload named = javaType.getAnnotation(SluicePayload.class);
    String type = named != null ? named.type() : javaType.getCanonicalName();
    int version = named != null ? named.version() : 1;
    if (type == null) {
      throw new IllegalStateException(
          javaType.getName()
              + " has no canonical name (anonymous or local class): annotate it with"
              + " @SluicePayload(type = ...) or declare a Codec bean for it");
    }
    return JsonCodec.of(type, version, javaType, mapper);
  }
}
