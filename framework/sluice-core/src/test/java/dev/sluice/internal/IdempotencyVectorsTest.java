package dev.sluice.internal;

import static dev.sluice.internal.Vectors.load;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.internal.wire.IdKeys;
import io.nats.client.support.JsonValue;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** idempotency.json: the keys of the shared idempotency store (protocol §9). */
class IdempotencyVectorsTest {
  @Test
  void idempotency() throws Exception {
    Map<String, JsonValue> v = load("idempotency.json").map;
    String q = v.get("queue").string;
    for (JsonValue c : v.get("cases").array) {
      String id = c.map.get("msg_id").string;
      assertThat(IdKeys.idKey(id)).as(id).isEqualTo(c.map.get("id_key").string);
      assertThat(IdKeys.storeKey(q, id)).as(id).isEqualTo(c.map.get("store_key").string);
    }
  }
}
