package dev.sluice.internal.worker;

import dev.sluice.DeadLetterReason;
import dev.sluice.Upcaster;
import dev.sluice.internal.wire.Classifier;
import java.util.Map;

/**
 * Step 5: upcasts the payload one version at a time to a version with a handler, then decodes it; a
 * payload that cannot be decoded is dead-lettered with {@code decode-error}, never retried.
 */
final class DecodeStep implements Step {
  private final Map<String, Map<Integer, WorkerSettings.Registration<?>>> handlers;
  private final Map<String, Map<Integer, Upcaster>> upcasters;
  private final Settler settler;

  DecodeStep(WorkerSettings s, Settler settler) {
    this.handlers = s.handlers();
    this.upcasters = s.upcasters();
    this.settler = settler;
  }

  @Override
  public void handle(Delivery d, Next next) throws Exception {
    String type = d.hc.type();
    try {
      Map<Integer, WorkerSettings.Registration<?>> byVersion = handlers.get(type);
      byte[] bytes = d.data;
      int v = d.hc.version();
      while (!byVersion.containsKey(v)) {
        Upcaster up = upcasters.getOrDefault(type, Map.of()).get(v);
        if (up == null) {
          throw new IllegalStateException("no handler or upcaster for " + type + " v" + v);
        }
        bytes = up.upcast(bytes);
        v++;
      }
      d.value = byVersion.get(v).codec().decode(bytes);
      d.decodedVersion = v;
    } catch (Exception e) {
      settler.settle(
          d,
          new Classifier.DeadLetter(
              DeadLetterReason.DECODE_ERROR,
              "cannot decode " + type + " v" + d.hc.version() + ": " + e));
      return;
    }
    next.proceed(d);
  }
}
