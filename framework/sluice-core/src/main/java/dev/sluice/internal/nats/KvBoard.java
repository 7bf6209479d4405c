package dev.sluice.internal.nats;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.KeyValueOperation;
import io.nats.client.api.KeyValueWatcher;
import io.nats.client.impl.NatsKeyValueWatchSubscription;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A live view of the KV entries under one key filter (e.g. every capacity advert of a queue), kept
 * current by a KV watch. Values that do not parse are skipped with a warning. Thread-safe.
 *
 * @param <T> the decoded value
 */
public final class KvBoard<T> implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KvBoard.class);

  /** Decodes a value; throws on bytes it cannot read. */
  @FunctionalInterface
  public interface Parser<T> {
    T parse(byte[] bytes) throws Exception;
  }

  private final Map<String, T> entries = new ConcurrentHashMap<>();
  private final Connection nc;
  private final String bucket;
  private final String filter;
  private final Parser<T> parser;
  private volatile NatsKeyValueWatchSubscription watch;

  public KvBoard(Connection nc, String bucket, String filter, Parser<T> parser)
      throws IOException, JetStreamApiException, InterruptedException {
    this.nc = nc;
    this.bucket = bucket;
    this.filter = filter;
    this.parser = parser;
    this.watch = startWatch();
  }

  private NatsKeyValueWatchSubscription startWatch()
      throws IOException, JetStreamApiException, InterruptedException {
    CountDownLatch ready = new CountDownLatch(1);
    NatsKeyValueWatchSubscription w =
        nc.keyValue(bucket)
            .watch(
                filter,
                new KeyValueWatcher() {
                  @Override
                  public void watch(KeyValueEntry e) {
                    if (e.getOperation() != KeyValueOperation.PUT || e.getValue() == null) {
                      entries.remove(e.getKey());
                      return;
                    }
                    try {
                      entries.put(e.getKey(), parser.parse(e.getValue()));
                    } catch (Exception ex) {
                      LOG.warn(
                          "ignoring unreadable {} entry {}: {}", bucket, e.getKey(), ex.toString());
                      entries.remove(e.getKey());
                    }
                  }

                  @Override
                  public void endOfData() {
                    ready.countDown();
                  }
                });
    if (!ready.await(10, TimeUnit.SECONDS)) {
      LOG.warn("KV watch of {} {} gave no initial data within 10 s", bucket, filter);
    }
    return w;
  }

  /**
   * Watches anew: for a watch that stopped delivering (its server-side consumer can be lost when a
   * server restarts). Current values are delivered again; entries deleted meanwhile disappear.
   */
  public void rewatch() {
    try {
      NatsKeyValueWatchSubscription old = watch;
      try {
        old.unsubscribe();
      } catch (RuntimeException ignored) {
        // already gone
      }
      entries.clear();
      watch = startWatch();
      LOG.debug("re-watching {} {}", bucket, filter);
    } catch (IOException | JetStreamApiException e) {
      LOG.warn("cannot re-watch {} {}: {}", bucket, filter, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The current value of one key, or null. */
  public T get(String key) {
    return entries.get(key);
  }

  /** A snapshot of every current value. */
  public List<T> values() {
    return List.copyOf(entries.values());
  }

  /** A snapshot keyed by KV key. */
  public Map<String, T> snapshot() {
    return Map.copyOf(entries);
  }

  @Override
  public void close() {
    try {
      watch.unsubscribe();
    } catch (RuntimeException e) {
      // the connection may be closed already
    }
  }
}
