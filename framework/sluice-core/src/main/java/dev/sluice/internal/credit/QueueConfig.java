package dev.sluice.internal.credit;

import dev.sluice.internal.proto.QueueSettings;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.JetStreamApiException;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import java.io.IOException;

/**
 * A queue's settings as the credit protocol reads them (§5.1, §5.3): the token batch {@code b}, the
 * standing buffer, the advert bounds and the rate limit (§15.2), with the defaults that apply when
 * {@code sluice-control} has no {@code queue.<q>} key or a field is 0. The one place the defaults
 * live.
 */
public record QueueConfig(
    int tokenBatch,
    int standingBuffer,
    int maxWorkerCapacity,
    int maxWindow,
    double ratePerSecond,
    int rateBurst) {
  /** The token batch when the queue's settings do not give one. */
  public static final int DEFAULT_TOKEN_BATCH = 32;

  /** The most one advert counts for when the settings do not say (§5.1, [v1.1]). */
  public static final int DEFAULT_MAX_WORKER_CAPACITY = 10_000;

  /** The most the live adverts together count for when the settings do not say. */
  public static final int DEFAULT_MAX_WINDOW = 10_000;

  /** Settings without a rate limit. */
  public QueueConfig(int tokenBatch, int standingBuffer, int maxWorkerCapacity, int maxWindow) {
    this(tokenBatch, standingBuffer, maxWorkerCapacity, maxWindow, 0, 0);
  }

  /** True when the queue has a rate limit (§15.2 [v1.3]). */
  public boolean rateLimited() {
    return Rates.limited(ratePerSecond) && rateBurst > 0;
  }

  /** The settings of a queue with no {@code queue.<q>} key. */
  public static QueueConfig defaults() {
    return new QueueConfig(DEFAULT_TOKEN_BATCH, 0, DEFAULT_MAX_WORKER_CAPACITY, DEFAULT_MAX_WINDOW);
  }

  /** Reads {@code queue.<q>} from the control bucket; defaults when the key is absent. */
  public static QueueConfig read(KeyValue control, String queue)
      throws IOException, JetStreamApiException {
    KeyValueEntry e = control.get(Protocol.settingsKey(queue));
    if (e == null || e.getValue() == null) {
      return defaults();
    }
    return of(QueueSettings.parseFrom(e.getValue()));
  }

  /**
   * The settings in {@code qs}, with a zero token batch or bound read as the default (a queue
   * provisioned by a previous revision has no bounds stored).
   */
  public static QueueConfig of(QueueSettings qs) {
    int b = qs.getTokenBatch() > 0 ? qs.getTokenBatch() : DEFAULT_TOKEN_BATCH;
    int cap =
        qs.getMaxWorkerCapacity() > 0 ? qs.getMaxWorkerCapacity() : DEFAULT_MAX_WORKER_CAPACITY;
    int win = qs.getMaxWindow() > 0 ? qs.getMaxWindow() : DEFAULT_MAX_WINDOW;
    // A rate without a valid burst (a hand-written key) is no rate: minting is never stopped.
    boolean rate = Rates.invalid(qs.getRatePerSecond(), qs.getRateBurst()) == null;
    return new QueueConfig(
        b,
        qs.getStandingBuffer(),
        cap,
        win,
        rate ? qs.getRatePerSecond() : 0,
        rate ? qs.getRateBurst() : 0);
  }
}
