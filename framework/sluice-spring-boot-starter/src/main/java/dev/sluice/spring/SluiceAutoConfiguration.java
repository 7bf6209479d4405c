package dev.sluice.spring;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.Sluice;
import dev.sluice.jackson.JsonCodec;
import io.micrometer.core.instrument.MeterRegistry;
import io.nats.client.Connection;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Sluice in a Spring Boot application: a NATS {@link Connection} and a {@link Sluice} from {@code
 * sluice.*}, the queues of {@code sluice.queues.*} provisioned, a {@link SluiceTemplate} to send,
 * one worker per queue of {@link SluiceListener} methods run in the context's lifecycle, and, when
 * the application has them, Micrometer metrics on its registry and a {@code sluice} health
 * contributor. Every bean backs off when the application declares its own.
 */
@AutoConfiguration(
    afterName = "org.springframework.boot.autoconfigure.jackson.JacksonAutoConfiguration")
@ConditionalOnClass(Sluice.class)
@EnableConfigurationProperties(SluiceProperties.class)
public class SluiceAutoConfiguration {

  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  Connection sluiceConnection(SluiceProperties properties) {
    return SluiceConnections.connect(properties);
  }

  @Bean
  @ConditionalOnMissingBean
  Sluice sluice(Connection connection) {
    return Sluice.using(connection);
  }

  @Bean
  QueueProvisioner sluiceQueueProvisioner(Sluice sluice, SluiceProperties properties) {
    return new QueueProvisioner(sluice, properties.getQueues());
  }

  /** JSON codecs use the application's {@code ObjectMapper} when it has exactly one. */
  @Bean
  @ConditionalOnMissingBean
  SluiceCodecs sluiceCodecs(ListableBeanFactory beans, ObjectProvider<ObjectMapper> mappers) {
    return new SluiceCodecs(beans, mappers.getIfUnique(JsonCodec::defaultMapper));
  }

  @Bean
  @ConditionalOnMissingBean
  SluiceTemplate sluiceTemplate(
      Sluice sluice,
      SluiceCodecs codecs,
      SluiceProperties properties,
      QueueProvisioner provisioned,
      ObjectProvider<ProducerCustomizer> customizers) {
    return new SluiceTemplate(
        sluice, codecs, properties.getProducer(), customizers.orderedStream().toList());
  }

  @Bean
  static SluiceListenerAnnotationProcessor sluiceListenerAnnotationProcessor() {
    return new SluiceListenerAnnotationProcessor();
  }

  @Bean
  @ConditionalOnProperty(
      prefix = "sluice.listener",
      name = "enabled",
      havingValue = "true",
      matchIfMissing = true)
  SluiceListenerContainer sluiceListenerContainer(
      Sluice sluice,
      SluiceListenerAnnotationProcessor listeners,
      SluiceCodecs codecs,
      SluiceProperties properties,
      QueueProvisioner provisioned,
      ObjectProvider<WorkerCustomizer> customizers) {
    return new SluiceListenerContainer(
        sluice, listeners, codecs, properties.getListener(), customizers.orderedStream().toList());
  }

  /** Workers and producers record their meters on the application's registry. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(MeterRegistry.class)
  static class SluiceMetricsConfiguration {
    @Bean
    WorkerCustomizer sluiceWorkerMetrics(ObjectProvider<MeterRegistry> registry) {
      return (queue, builder) -> registry.ifUnique(builder::meterRegistry);
    }

    @Bean
    ProducerCustomizer sluiceProducerMetrics(ObjectProvider<MeterRegistry> registry) {
      return (queue, builder) -> registry.ifUnique(builder::meterRegistry);
    }
  }

  /** The {@code sluice} health contributor, off with {@code management.health.sluice.enabled}. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(HealthIndicator.class)
  @ConditionalOnProperty(
      prefix = "management.health.sluice",
      name = "enabled",
      havingValue = "true",
      matchIfMissing = true)
  static class SluiceHealthConfiguration {
    @Bean
    @ConditionalOnMissingBean(name = "sluiceHealthIndicator")
    SluiceHealthIndicator sluiceHealthIndicator(
        Connection connection,
        ObjectProvider<SluiceListenerContainer> container,
        ObjectProvider<SluiceTemplate> template) {
      return new SluiceHealthIndicator(connection, container, template);
    }
  }
}
