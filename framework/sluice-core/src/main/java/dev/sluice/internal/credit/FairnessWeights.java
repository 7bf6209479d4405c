package dev.sluice.internal.credit;

import dev.sluice.internal.proto.QueueSettings;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.JetStreamApiException;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * The weight of a fairness key in one producer (protocol §15.3): the producer's own weight for the
 * key, else the queue's ({@code QueueSettings.fairness_weights}), else 1.
 */
public final class FairnessWeights implements ToIntFunction<String> {
  private final Map<String, Integer> producer;
  private final Map<String, Integer> queue;

  public FairnessWeights(Map<String, Integer> producer, Map<String, Integer> queue) {
    this.producer = Map.copyOf(producer);
    this.queue = Map.copyOf(queue);
  }

  @Override
  public int applyAsInt(String key) {
    Integer w = producer.get(key);
    if (w == null) {
      w = queue.get(key);
    }
    return w == null || w < 1 ? 1 : w;
  }

  /** The queue's weights from {@code queue.<q>} in the control bucket; empty when none are set. */
  public static Map<String, Integer> readQueue(KeyValue control, String queue)
      throws IOException, JetStreamApiException {
    KeyValueEntry e = control.get(Protocol.settingsKey(queue));
    if (e == null || e.getValue() == null) {
      return Map.of();
    }
    Map<String, Integer> out = new HashMap<>();
    QueueSettings.parseFrom(e.getValue())
        .getFairnessWeightsMap()
        .forEach((k, v) -> out.put(k, (int) Math.min(Integer.MAX_VALUE, v & 0xffffffffL)));
    return out;
  }
}
