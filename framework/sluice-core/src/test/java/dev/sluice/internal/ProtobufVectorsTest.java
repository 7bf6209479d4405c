package dev.sluice.internal;

import static dev.sluice.internal.Vectors.load;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.CreditToken;
import dev.sluice.internal.proto.ProducerReport;
import dev.sluice.internal.proto.QueueSettings;
import dev.sluice.internal.proto.ReconcilerLease;
import io.nats.client.support.JsonValue;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** protobuf.json: the wire encoding of every protocol message. */
class ProtobufVectorsTest {
  @Test
  void protobufEncodings() throws Exception {
    Map<String, Message> prototypes =
        Map.of(
            "sluice.v1.CreditToken", CreditToken.getDefaultInstance(),
            "sluice.v1.CapacityAdvert", CapacityAdvert.getDefaultInstance(),
            "sluice.v1.ProducerReport", ProducerReport.getDefaultInstance(),
            "sluice.v1.ReconcilerLease", ReconcilerLease.getDefaultInstance(),
            "sluice.v1.QueueSettings", QueueSettings.getDefaultInstance());
    List<JsonValue> cases = load("protobuf.json").map.get("cases").array;
    assertThat(cases).hasSizeGreaterThanOrEqualTo(5);
    for (JsonValue c : cases) {
      Message proto = prototypes.get(c.map.get("message").string);
      assertThat(proto).as(c.map.get("message").string).isNotNull();
      Message.Builder b = proto.newBuilderForType();
      TextFormat.merge(c.map.get("text").string, b);
      byte[] want = HexFormat.of().parseHex(c.map.get("hex").string);
      assertThat(HexFormat.of().formatHex(b.build().toByteArray()))
          .isEqualTo(c.map.get("hex").string);
      assertThat(proto.getParserForType().parseFrom(want)).isEqualTo(b.build());
    }
  }
}
