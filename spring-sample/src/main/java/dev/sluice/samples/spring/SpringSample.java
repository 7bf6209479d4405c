package dev.sluice.samples.spring;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A Spring Boot application that sends {@code sample.messages} JSON orders to itself through a
 * Sluice queue, handles them with a {@code @SluiceListener} method, and prints as its last line
 * what became of them: {@code {"sent": N, "processed": N, "lost": 0}}.
 *
 * <pre>
 * java -jar spring-sample/target/spring-sample.jar --sluice.server=nats://127.0.0.1:4222 --sample.messages=100
 * </pre>
 *
 * <p>Exit status 0 when every order sent was processed, 1 when one was lost.
 */
@SpringBootApplication
public class SpringSample {
  public static void main(String[] args) {
    ConfigurableApplicationContext context = SpringApplication.run(SpringSample.class, args);
    Summary summary = context.getBean(SelfTest.class).summary();
    // Closing the context stops the worker gracefully (SmartLifecycle) before the connection.
    SpringApplication.exit(context);
    System.out.println(summary.toJson());
    System.exit(summary.lost() == 0 ? 0 : 1);
  }
}
