package dev.sluice.internal.producer;

import dev.sluice.UnsupportedVersionException;
import dev.sluice.VersionPolicy;
import dev.sluice.internal.credit.Window;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.time.Clock;
import dev.sluice.internal.wire.HandledTypes;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The producer's version check (protocol §4.3): before a send of {@code type@version}, at least one
 * live advert must handle it, unless no advert is live at all. Thread-safe.
 */
final class VersionGate {
  private static final Logger LOG = LoggerFactory.getLogger(VersionGate.class);

  /** How long a positive answer is trusted: the check runs per send, adverts change per beat. */
  private static final long TRUST_NANOS = 500_000_000L;

  private final String queue;
  private final VersionPolicy policy;
  private final Supplier<Collection<CapacityAdvert>> adverts;
  private final Clock clock;
  private final Map<String, Long> handledUntil = new ConcurrentHashMap<>();
  private final Set<String> warned = ConcurrentHashMap.newKeySet();

  VersionGate(
      String queue,
      VersionPolicy policy,
      Supplier<Collection<CapacityAdvert>> adverts,
      Clock clock) {
    this.queue = queue;
    this.policy = policy;
    this.adverts = adverts;
    this.clock = clock;
  }

  /**
   * Lets the send pass, logs once (WARN), or throws (FAIL).
   *
   * @throws UnsupportedVersionException with policy FAIL, when live workers exist and none handles
   *     {@code type@version}; the message names what they handle
   */
  void check(String type, int version) {
    if (policy == VersionPolicy.ALLOW) {
      return;
    }
    String key = type + "@" + version;
    long now = clock.nanos();
    Long until = handledUntil.get(key);
    if (until != null && until > now) {
      return;
    }
    List<CapacityAdvert> live = live();
    if (live.isEmpty()
        || live.stream().anyMatch(a -> HandledTypes.advertHandles(a, type, version))) {
      // With no live advert there is nothing to check against: the send waits for credits.
      handledUntil.put(key, now + TRUST_NANOS);
      return;
    }
    handledUntil.remove(key);
    String msg = notHandled(type, version, live);
    if (policy == VersionPolicy.FAIL) {
      throw new UnsupportedVersionException(msg);
    }
    if (warned.add(key)) {
      LOG.warn(msg);
    }
  }

  private List<CapacityAdvert> live() {
    long nowMs = clock.millis();
    return adverts.get().stream().filter(a -> Window.live(a, nowMs)).toList();
  }

  private String notHandled(String type, int version, List<CapacityAdvert> live) {
    String handled =
        live.stream()
            .flatMap(a -> a.getHandledList().stream())
            .map(t -> t.getType() + "@" + t.getMinVersion() + "-" + t.getMaxVersion())
            .distinct()
            .sorted()
            .collect(Collectors.joining(", "));
    return "no live worker of queue "
        + queue
        + " handles "
        + type
        + " version "
        + version
        + "; the "
        + live.size()
        + " live worker(s) handle: ["
        + handled
        + "]. Deploy workers that handle it first, or set VersionPolicy.WARN/ALLOW.";
  }
}
