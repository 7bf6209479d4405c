package dev.sluice.internal.credit;

import dev.sluice.internal.proto.QueueSettings;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.JetStreamApiException;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import java.io.IOException;

/**
 * A queue's settings as the credit protocol reads them (§5.3): the token batch {@code b} and the
 * standing buffer, with the defaults that apply when {@code sluice-control} has no {@code
 * queue.<q>} key. The one place the default batch lives.
 */
public record QueueConfig(int tokenBatch, int standingBuffer) {
  /** The token batch when the queue's settings do not give one. */
  public static final int DEFAULT_TOKEN_BATCH = 32;

  /** The settings of a queue with no {@code queue.<q>} key. */
  public static QueueConfig defaults() {
    return new QueueConfig(DEFAULT_TOKEN_BATCH, 0);
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

  /** The settings in {@code qs}, with a zero token batch read as the default. */
  public static QueueConfig of(QueueSettings qs) {
    int b = qs.getTokenBatch() > 0 ? qs.getTokenBatch() : DEFAULT_TOKEN_BATCH;
    return new QueueConfig(b, qs.getStandingBuffer());
  }
}
