package dev.sluice.examples;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.sluice.examples.orders.Order;
import dev.sluice.spi.Codec;

/**
 * The payload of the orders example, shared by its Go, Rust and Java programs through {@code
 * examples/orders.proto}: one logical type, {@code examples.Order}, in two schema versions of one
 * protobuf message. Version 1 has no currency; version 2 adds it. Because version 2 only adds a
 * field, both versions decode with the same generated class, and the upcaster only fills the field
 * in.
 */
public final class OrderSchema {
  private OrderSchema() {}

  /** The {@code Sluice-Type} of both versions, the same in every language. */
  public static final String TYPE = "examples.Order";

  /** The currency a version-1 order is upcast with: version-1 producers only ever sold in euros. */
  public static final String V1_CURRENCY = "EUR";

  /** Version 1: order id, customer, line count, total in cents. */
  public static final Codec<Order> V1 = Codec.protobuf(TYPE, 1, Order.parser());

  /** Version 2: version 1 plus the currency. What the Java worker's handler is written against. */
  public static final Codec<Order> V2 = Codec.protobuf(TYPE, 2, Order.parser());

  /**
   * Turns version-1 bytes into version-2 bytes: the same fields, currency {@value #V1_CURRENCY}.
   * Registered with {@code .upcast(TYPE, 1, OrderSchema::v1ToV2)}. A pure function of the bytes.
   *
   * @throws InvalidProtocolBufferException when the bytes are not an order (the message is then
   *     dead-lettered as {@code decode-error})
   */
  public static byte[] v1ToV2(byte[] v1) throws InvalidProtocolBufferException {
    Order order = Order.parseFrom(v1);
    return order.toBuilder().setCurrency(V1_CURRENCY).build().toByteArray();
  }

  /** An order of the given version: version 1 carries no currency. */
  public static Order order(String id, String customer, int lines, long totalCents, int version) {
    Order.Builder b =
        Order.newBuilder()
            .setOrderId(id)
            .setCustomer(customer)
            .setLines(lines)
            .setTotalCents(totalCents);
    if (version >= 2) {
      b.setCurrency("USD");
    }
    return b.build();
  }
}
