package dev.sluice.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.sluice.examples.orders.Order;
import org.junit.jupiter.api.Test;

class OrderSchemaTest {
  @Test
  void versionOneIsUpcastWithEuros() throws Exception {
    byte[] v1 = OrderSchema.order("go-1", "ada", 3, 4200, 1).toByteArray();

    Order v2 = Order.parseFrom(OrderSchema.v1ToV2(v1));

    assertThat(v2.getOrderId()).isEqualTo("go-1");
    assertThat(v2.getCustomer()).isEqualTo("ada");
    assertThat(v2.getLines()).isEqualTo(3);
    assertThat(v2.getTotalCents()).isEqualTo(4200);
    assertThat(v2.getCurrency()).isEqualTo("EUR");
  }

  @Test
  void onlyVersionTwoCarriesACurrency() {
    assertThat(OrderSchema.order("a", "c", 1, 1, 1).getCurrency()).isEmpty();
    assertThat(OrderSchema.order("a", "c", 1, 1, 2).getCurrency()).isNotEmpty();
  }

  @Test
  void bytesThatAreNoOrderFailTheUpcast() {
    assertThatThrownBy(() -> OrderSchema.v1ToV2(new byte[] {(byte) 0xff, 0x01}))
        .isInstanceOf(InvalidProtocolBufferException.class);
  }

  @Test
  void bothVersionsShareTheTypeOfEveryLanguage() {
    assertThat(OrderSchema.V1.type()).isEqualTo("examples.Order");
    assertThat(OrderSchema.V2.type()).isEqualTo("examples.Order");
    assertThat(OrderSchema.V1.version()).isEqualTo(1);
    assertThat(OrderSchema.V2.version()).isEqualTo(2);
  }
}
