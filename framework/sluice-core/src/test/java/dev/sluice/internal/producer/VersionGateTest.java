package dev.sluice.internal.producer;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.UnsupportedVersionException;
import dev.sluice.VersionPolicy;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.HandledType;
import dev.sluice.internal.time.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The producer's version check (protocol §4.3) against live adverts, with a fake clock. */
class VersionGateTest {
  final FakeClock clock = new FakeClock();
  final List<CapacityAdvert> adverts = new ArrayList<>();

  CapacityAdvert advert(String type, int min, int max) {
    return CapacityAdvert.newBuilder()
        .setWorkerId("w" + adverts.size())
        .addHandled(HandledType.newBuilder().setType(type).setMinVersion(min).setMaxVersion(max))
        .setHeartbeatUnixMs(clock.millis())
        .setTtlMs(6000)
        .build();
  }

  VersionGate gate(VersionPolicy policy) {
    return new VersionGate("orders", policy, () -> (Collection<CapacityAdvert>) adverts, clock);
  }

  @Test
  void failNamesTheTypeTheVersionAndWhatLiveWorkersHandle() {
    adverts.add(advert("shop.Order", 1, 2));
    assertThatThrownBy(() -> gate(VersionPolicy.FAIL).check("shop.Order", 3))
        .isInstanceOf(UnsupportedVersionException.class)
        .hasMessage(
            "no live worker of queue orders handles shop.Order version 3; the 1 live worker(s)"
                + " handle: [shop.Order@1-2]. Deploy workers that handle it first, or set"
                + " VersionPolicy.WARN/ALLOW.");
    assertThatCode(() -> gate(VersionPolicy.FAIL).check("shop.Order", 2))
        .doesNotThrowAnyException();
  }

  @Test
  void withNoLiveAdvertThereIsNothingToCheckAgainst() {
    adverts.add(advert("shop.Order", 1, 1));
    clock.advance(Duration.ofMillis(6001)); // the advert expires
    assertThatCode(() -> gate(VersionPolicy.FAIL).check("shop.Order", 9))
        .doesNotThrowAnyException();
  }

  @Test
  void warnAndAllowLetTheSendThrough() {
    adverts.add(advert("shop.Order", 1, 1));
    assertThatCode(() -> gate(VersionPolicy.WARN).check("shop.Order", 2))
        .doesNotThrowAnyException();
    assertThatCode(() -> gate(VersionPolicy.ALLOW).check("shop.Order", 2))
        .doesNotThrowAnyException();
  }

  @Test
  void aHandledVersionIsTrustedForHalfASecondThenCheckedAgain() {
    adverts.add(advert("shop.Order", 1, 1));
    VersionGate gate = gate(VersionPolicy.FAIL);
    gate.check("shop.Order", 1);
    adverts.clear();
    adverts.add(advert("shop.Order", 2, 2)); // the fleet moved on to v2 only

    clock.advance(Duration.ofMillis(499));
    assertThatCode(() -> gate.check("shop.Order", 1)).doesNotThrowAnyException();
    clock.advance(Duration.ofMillis(2));
    // A cache that never expired would keep sending v1 to a fleet that no longer handles it.
    assertThatThrownBy(() -> gate.check("shop.Order", 1))
        .isInstanceOf(UnsupportedVersionException.class);
  }
}
