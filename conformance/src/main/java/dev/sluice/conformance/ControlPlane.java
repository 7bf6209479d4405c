package dev.sluice.conformance;

import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.CreditToken;
import dev.sluice.internal.proto.WorkerState;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import java.util.List;
import java.util.Optional;

/**
 * Reads Sluice's control-plane records (worker capacity adverts, credit tokens). The only class of
 * the runner that decodes their protobuf: everything else sees the plain records below, so this
 * class alone changes when the library offers a public read model of a queue.
 */
final class ControlPlane {
  private ControlPlane() {}

  /** One handled type range of an advert. */
  record Handled(String type, int minVersion, int maxVersion) {}

  /** A worker's capacity advert (§5.2), as far as the checks need it. */
  record Advert(
      String workerId,
      int capacity,
      boolean running,
      String state,
      long heartbeatUnixMs,
      long ttlMs,
      String language,
      int tokenBatch,
      List<Handled> handled) {

    /** Live at {@code nowMs}: the heartbeat plus the TTL has not passed. */
    boolean liveAt(long nowMs) {
      return heartbeatUnixMs + ttlMs >= nowMs;
    }
  }

  /**
   * The advert of {@code workerId} on {@code queue} in the {@code sluice-capacity} bucket; empty
   * when there is none (or it was deleted). Throws what the KV read or the decoding throws.
   */
  static Optional<Advert> advert(KeyValue capacity, String queue, String workerId)
      throws Exception {
    KeyValueEntry e = capacity.get(queue + "." + workerId);
    if (e == null || e.getValue() == null) {
      return Optional.empty();
    }
    CapacityAdvert a = CapacityAdvert.parseFrom(e.getValue());
    return Optional.of(
        new Advert(
            a.getWorkerId(),
            a.getCapacity(),
            a.getState() == WorkerState.WORKER_STATE_RUNNING,
            a.getState().toString(),
            a.getHeartbeatUnixMs(),
            a.getTtlMs(),
            a.getLanguage(),
            a.getTokenBatch(),
            a.getHandledList().stream()
                .map(h -> new Handled(h.getType(), h.getMinVersion(), h.getMaxVersion()))
                .toList()));
  }

  /** Who minted a stored credit token and why ("worker/REASON"), or "unparsable". */
  static String tokenOrigin(byte[] data) {
    try {
      CreditToken t = CreditToken.parseFrom(data);
      return t.getMintedBy() + "/" + t.getReason();
    } catch (Exception e) {
      return "unparsable";
    }
  }
}
