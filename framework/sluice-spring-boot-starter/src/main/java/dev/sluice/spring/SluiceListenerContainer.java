package dev.sluice.spring;

import dev.sluice.DeadLetterPolicy;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Runs the workers of the {@code @SluiceListener} methods in the application context's lifecycle:
 * one worker per queue, started after every singleton is ready and stopped first when the context
 * closes. Stopping a worker stops its pulls, lets in-flight handlers finish (or NAKs them after the
 * shutdown grace), mints the credits they owe and withdraws its advert, so a redeploy loses nothing
 * and leaves no stale capacity behind.
 */
public class SluiceListenerContainer implements SmartLifecycle {
  private static final Logger LOG = LoggerFactory.getLogger(SluiceListenerContainer.class);

  private final Sluice sluice;
  private final SluiceListenerAnnotationProcessor listeners;
  private final SluiceCodecs codecs;
  private final SluiceProperties.Listener settings;
  private final List<WorkerCustomizer> customizers;
  private final Map<String, Worker> workers = new LinkedHashMap<>();
  private volatile boolean running;

  public SluiceListenerContainer(
      Sluice sluice,
      SluiceListenerAnnotationProcessor listeners,
      SluiceCodecs codecs,
      SluiceProperties.Listener settings,
      List<WorkerCustomizer> customizers) {
    this.sluice = sluice;
    this.listeners = listeners;
    this.codecs = codecs;
    this.settings = settings;
    this.customizers = List.copyOf(customizers);
  }

  @Override
  public synchronized void start() {
    if (running) {
      return;
    }
    Map<String, List<ListenerMethod>> byQueue = new LinkedHashMap<>();
    for (ListenerMethod m : listeners.listeners()) {
      byQueue.computeIfAbsent(m.queue(), q -> new ArrayList<>()).add(m);
    }
    try {
      byQueue.forEach((queue, methods) -> workers.put(queue, startWorker(queue, methods)));
    } catch (RuntimeException e) {
      closeAll();
      throw e;
    }
    running = true;
  }

  @SuppressWarnings("unchecked")
  private Worker startWorker(String queue, List<ListenerMethod> methods) {
    Worker.Builder b = sluice.worker(queue);
    int concurrency = agreed(queue, methods, ListenerMethod::concurrency, 0, "concurrency");
    int prefetch = agreed(queue, methods, ListenerMethod::prefetch, -1, "prefetch");
    int maxAttempts = agreed(queue, methods, ListenerMethod::maxAttempts, 0, "maxAttempts");
    if (concurrency != 0) {
      b.concurrency(concurrency);
    }
    if (prefetch != -1) {
      b.prefetch(prefetch);
    }
    if (maxAttempts != 0) {
      b.deadLetter(DeadLetterPolicy.builder().maxAttempts(maxAttempts).build());
    }
    if (settings.getShutdownGrace() != null) {
      b.shutdownGrace(settings.getShutdownGrace());
    }
    for (ListenerMethod m : methods) {
      Codec<Object> codec = (Codec<Object>) codecs.forClass(m.payloadType());
      b.handle(codec, m.handler());
    }
    customizers.forEach(c -> c.customize(queue, b));
    Worker w = b.start();
    LOG.info(
        "Sluice worker {} on queue {} started for {} listener method(s)",
        w.workerId(),
        queue,
        methods.size());
    return w;
  }

  /** The one non-default value the methods of a queue set for a setting, or the default. */
  private static int agreed(
      String queue,
      List<ListenerMethod> methods,
      ToIntFunction<ListenerMethod> get,
      int unset,
      String name) {
    int value = unset;
    ListenerMethod from = null;
    for (ListenerMethod m : methods) {
      int v = get.applyAsInt(m);
      if (v == unset) {
        continue;
      }
      if (from != null && v != value) {
        throw new IllegalStateException(
            "@SluiceListener methods on queue "
                + queue
                + " disagree on "
                + name
                + ": "
                + from.describe()
                + " sets "
                + value
                + ", "
                + m.describe()
                + " sets "
                + v
                + " (they share one worker: set it on one of them)");
      }
      value = v;
      from = m;
    }
    return value;
  }

  @Override
  public synchronized void stop() {
    closeAll();
    running = false;
  }

  /** Closes the workers side by side, so that the slowest drain bounds the stop, not their sum. */
  private void closeAll() {
    List<Thread> closing = new ArrayList<>();
    workers.forEach(
        (queue, w) -> {
          Thread t =
              new Thread(
                  () -> {
                    try {
                      w.close();
                    } catch (RuntimeException e) {
                      LOG.warn("Sluice worker on queue {} did not close cleanly", queue, e);
                    }
                  },
                  "sluice-stop-" + queue);
          t.start();
          closing.add(t);
        });
    for (Thread t : closing) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    workers.clear();
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  /** The running workers, by queue. */
  public synchronized Map<String, Worker> workers() {
    return Map.copyOf(workers);
  }
}
