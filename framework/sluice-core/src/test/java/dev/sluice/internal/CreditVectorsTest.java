package dev.sluice.internal;

import static dev.sluice.internal.Vectors.load;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.sluice.internal.credit.Credits;
import dev.sluice.internal.credit.QueueConfig;
import dev.sluice.internal.credit.Window;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.QueueSettings;
import dev.sluice.internal.proto.WorkerState;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.support.JsonValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** credits.json: token sizes, the window, reconciliation, linger, token ids and names (§5). */
class CreditVectorsTest {
  @Test
  void credits() throws Exception {
    Map<String, JsonValue> v = load("credits.json").map;
    for (JsonValue c : v.get("decompose").array) {
      List<Integer> want =
          c.map.get("tokens").array.stream().map(x -> x.number.intValue()).toList();
      assertThat(
              Credits.decompose(
                  c.map.get("credits").number.longValue(), c.map.get("batch").number.intValue()))
          .as(c.toJson())
          .isEqualTo(want);
    }
    for (JsonValue c : v.get("window").array) {
      List<CapacityAdvert> ads = new ArrayList<>();
      for (JsonValue a : c.map.get("adverts").array) {
        ads.add(
            CapacityAdvert.newBuilder()
                .setWorkerId(a.map.get("worker_id").string)
                .setCapacity(a.map.get("capacity").number.intValue())
                .setState(WorkerState.valueOf("WORKER_STATE_" + a.map.get("state").string))
                .setHeartbeatUnixMs(a.map.get("heartbeat_unix_ms").number.longValue())
                .setTtlMs(a.map.get("ttl_ms").number.intValue())
                .build());
      }
      assertThat(
              Window.window(
                  QueueConfig.of(
                      QueueSettings.newBuilder()
                          .setStandingBuffer(c.map.get("standing_buffer").number.intValue())
                          .setMaxWorkerCapacity(intOr(c.map.get("max_worker_capacity")))
                          .setMaxWindow(intOr(c.map.get("max_window")))
                          .build()),
                  ads,
                  c.map.get("now_unix_ms").number.longValue()))
          .as(c.map.get("name").string)
          .isEqualTo(c.map.get("window").number.longValue());
    }
    for (JsonValue c : v.get("reconcile").array) {
      Map<String, JsonValue> m = c.map;
      Credits.Decision d =
          Credits.reconcile(
              m.get("window").number.longValue(),
              m.get("backlog").number.longValue(),
              m.get("tokens").number.longValue(),
              m.get("held_spent").number.longValue(),
              m.get("owed").number.longValue(),
              m.get("previous_deficit").number.longValue());
      assertThat(d.deficit())
          .as(m.get("name").string)
          .isEqualTo(m.get("deficit").number.longValue());
      assertThat(d.action().name().toLowerCase())
          .as(m.get("name").string)
          .isEqualTo(m.get("action").string);
      assertThat(d.credits())
          .as(m.get("name").string)
          .isEqualTo(m.get("credits").number.longValue());
      long burn =
          d.action() == Credits.Action.BURN
              ? Credits.burnAmount(
                  d.credits(),
                  m.get("live_producers").number.intValue(),
                  m.get("token_batch").number.intValue(),
                  // [v1.3]: absent in the older cases, which is the rule of revision 1.2.
                  m.containsKey("held_tokens") ? m.get("held_tokens").number.longValue() : 0,
                  m.get("held_spent").number.longValue())
              : 0;
      assertThat(burn).as(m.get("name").string).isEqualTo(m.get("burn").number.longValue());
    }
    for (JsonValue c : v.get("debt").array) {
      Map<String, JsonValue> m = c.map;
      long debt = m.get("debt").number.longValue();
      long backlog = m.get("backlog").number.longValue();
      long owed = m.get("owed").number.longValue();
      long payable = Credits.debtPayable(backlog, owed, debt);
      String name = m.get("name").string;
      assertThat(payable).as(name).isEqualTo(m.get("payable").number.longValue());
      assertThat(payable == 0).as(name).isEqualTo(m.get("fetch_all").bool);
      assertThat(
              Math.min(
                  m.get("burn").number.longValue() - m.get("burned_unheld").number.longValue(),
                  payable))
          .as(name)
          .isEqualTo(m.get("announce").number.longValue());
      assertThat(Credits.mintHeldBackByDebt(debt, backlog, owed))
          .as(name)
          .isEqualTo(m.get("mint_blocked").bool);
    }
    for (JsonValue c : v.get("linger").array) {
      assertThat(
              Credits.lingerMillis(
                  c.map.get("batch").number.intValue(),
                  c.map.get("service_rate").number.doubleValue()))
          .as(c.toJson())
          .isEqualTo(c.map.get("linger_ms").number.longValue());
    }
    for (JsonValue c : v.get("service_rate").array) {
      double rate = 0;
      for (JsonValue beat : c.map.get("heartbeats").array) {
        rate =
            Credits.serviceRate(
                rate,
                beat.map.get("completed").number.longValue(),
                beat.map.get("dt_ms").number.longValue() / 1000.0);
        double want = beat.map.get("service_rate").number.doubleValue();
        assertThat(rate).as(c.map.get("name").string).isCloseTo(want, within(1e-9 * want + 1e-12));
      }
    }
    java.util.regex.Pattern tokenId =
        java.util.regex.Pattern.compile(v.get("token_id_pattern").string);
    for (JsonValue c : v.get("token_ids").array) {
      String id = c.map.get("msg_id").string;
      if (c.map.containsKey("minter_id")) {
        assertThat(
                dev.sluice.internal.credit.TokenMinter.tokenId(
                    c.map.get("minter_id").string,
                    c.map.get("nonce").string,
                    c.map.get("counter").number.longValue()))
            .isEqualTo(id);
      }
      assertThat(tokenId.matcher(id).matches()).as(id).isEqualTo(c.map.get("valid").bool);
    }
    for (JsonValue c : v.get("effective_batch").array) {
      assertThat(
              Credits.effectiveBatch(
                  c.map.get("batch").number.intValue(), c.map.get("capacity").number.intValue()))
          .as(c.toJson())
          .isEqualTo(c.map.get("effective_batch").number.intValue());
    }
    for (JsonValue c : v.get("mint_back").array) {
      int token = c.map.get("token").number.intValue();
      int need = c.map.get("need").number.intValue();
      assertThat(Credits.decompose(token - need, c.map.get("batch").number.intValue()))
          .as(c.toJson())
          .isEqualTo(c.map.get("mint_back").array.stream().map(x -> x.number.intValue()).toList());
    }
    for (JsonValue c : v.get("names").array) {
      String q = c.map.get("queue").string;
      long n = c.map.get("credits").number.longValue();
      assertThat(Protocol.creditSubject(q, n)).isEqualTo(c.map.get("subject").string);
      assertThat(Credits.tokenValue(Protocol.creditSubject(q, n))).isEqualTo(n);
      assertThat(Protocol.creditConsumer(q)).isEqualTo(c.map.get("consumer").string);
      assertThat(Protocol.workStream(q)).isEqualTo(c.map.get("work_stream").string);
      assertThat(Protocol.workSubject(q)).isEqualTo(c.map.get("work_subject").string);
      assertThat(Protocol.dlqSubject(q)).isEqualTo(c.map.get("dlq_subject").string);
    }
  }

  /** A vector's optional integer; 0 (the protocol's "default") when absent. */
  private static int intOr(JsonValue v) {
    return v == null ? 0 : v.number.intValue();
  }
}
