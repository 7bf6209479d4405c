package dev.sluice.samples.spring;

import dev.sluice.spring.SluiceTemplate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.stereotype.Component;

/**
 * Sends {@code sample.messages} orders once the application has started (its worker is running by
 * then), and waits up to {@code sample.timeout} for the worker to handle every one.
 */
@Component
public class SelfTest implements ApplicationRunner {
  private static final Logger LOG = LoggerFactory.getLogger(SelfTest.class);

  private final SluiceTemplate template;
  private final Fulfilment fulfilment;
  private final String queue;
  private final int messages;
  private final Duration timeout;
  private volatile Summary summary;

  public SelfTest(
      SluiceTemplate template,
      Fulfilment fulfilment,
      @Value("${sample.queue}") String queue,
      @Value("${sample.messages}") int messages,
      @Value("${sample.timeout}") Duration timeout) {
    this.template = template;
    this.fulfilment = fulfilment;
    this.queue = queue;
    this.messages = messages;
    this.timeout = timeout;
  }

  @Override
  public void run(ApplicationArguments args) throws Exception {
    String run = Long.toString(System.currentTimeMillis(), 36);
    List<String> ids = IntStream.range(0, messages).mapToObj(i -> run + "-" + i).toList();
    // Asynchronous sends: each waits for a credit off this thread, as the worker frees capacity.
    CompletableFuture<?>[] sends =
        ids.stream()
            .map(id -> template.sendAsync(queue, new Order(id, List.of(new Order.Line("SKU", 1)))))
            .toArray(CompletableFuture[]::new);
    long sent = 0;
    for (CompletableFuture<?> f : sends) {
      try {
        f.join();
        sent++;
      } catch (RuntimeException e) {
        LOG.warn("a send failed: {}", e.getMessage());
      }
    }
    fulfilment.awaitAll(ids, timeout);
    Set<String> done = fulfilment.fulfilled();
    long processed = ids.stream().filter(done::contains).count();
    summary = new Summary(sent, processed, sent - processed);
  }

  /** What became of the orders; set once the runner has finished. */
  public Summary summary() {
    return summary;
  }
}
