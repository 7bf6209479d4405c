package dev.sluice.internal.wire;

import dev.sluice.Upcaster;
import dev.sluice.internal.credit.Window;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.HandledType;
import dev.sluice.internal.worker.WorkerSettings;
import java.util.Collection;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Which payload types and versions a worker handles (directly or through upcasters), and what the
 * other live workers of its queue advertise for a given message (protocol §4.2, §7.2 step 3).
 */
public final class HandledTypes implements Classifier.Handles {
  private final Map<String, Map<Integer, WorkerSettings.Registration<?>>> handlers;
  private final Map<String, Map<Integer, Upcaster>> upcasters;

  public HandledTypes(
      Map<String, Map<Integer, WorkerSettings.Registration<?>>> handlers,
      Map<String, Map<Integer, Upcaster>> upcasters) {
    this.handlers = handlers;
    this.upcasters = upcasters;
  }

  @Override
  public boolean knowsType(String type) {
    return handlers.containsKey(type);
  }

  @Override
  public boolean handles(String type, int version) {
    Map<Integer, WorkerSettings.Registration<?>> byVersion = handlers.get(type);
    if (byVersion == null) {
      return false;
    }
    int v = version;
    while (!byVersion.containsKey(v)) {
      if (!upcasters.getOrDefault(type, Map.of()).containsKey(v)) {
        return false;
      }
      v++;
    }
    return true;
  }

  /** The other live workers' view of the message {@code hc}, evaluated lazily. */
  public static Classifier.Fleet fleet(
      Supplier<Collection<CapacityAdvert>> adverts, String selfId, HeaderCheck.Result hc) {
    return new Classifier.Fleet() {
      @Override
      public boolean othersHandle() {
        return others(adverts.get(), selfId).anyMatch(a -> advertHandles(a, hc));
      }

      @Override
      public boolean othersDecline() {
        return others(adverts.get(), selfId).anyMatch(a -> !advertHandles(a, hc));
      }
    };
  }

  private static Stream<CapacityAdvert> others(Collection<CapacityAdvert> adverts, String selfId) {
    long now = System.currentTimeMillis();
    return adverts.stream().filter(a -> !a.getWorkerId().equals(selfId) && Window.live(a, now));
  }

  /** Whether the advert handles the message's protocol, type and version (§4.2). */
  public static boolean advertHandles(CapacityAdvert a, HeaderCheck.Result hc) {
    if (hc.protocol() > a.getProtocolVersion()) {
      return false;
    }
    return advertHandles(a, hc.type(), hc.version());
  }

  /** Whether one of the advert's handled ranges holds {@code type@version} (§4.2, §4.3). */
  public static boolean advertHandles(CapacityAdvert a, String type, int version) {
    for (HandledType t : a.getHandledList()) {
      if (t.getType().equals(type)
          && t.getMinVersion() <= version
          && version <= t.getMaxVersion()) {
        return true;
      }
    }
    return false;
  }
}
