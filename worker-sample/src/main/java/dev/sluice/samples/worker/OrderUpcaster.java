package dev.sluice.samples.worker;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.sluice.samples.orders.v2.LineItem;
import dev.sluice.samples.orders.v2.Order;

/**
 * Turns version-1 order bytes into version-2 bytes, so one handler (written against v2) serves
 * messages from producers that still send v1. Registered with {@code .upcast(Orders.TYPE, 1,
 * OrderUpcaster::v1ToV2)}; a worker with it advertises versions 1 to 2. Upcasters are pure
 * functions of the bytes: no I/O, no clock.
 */
public final class OrderUpcaster {
  private OrderUpcaster() {}

  public static byte[] v1ToV2(byte[] v1Bytes) throws InvalidProtocolBufferException {
    var v1 = dev.sluice.samples.orders.v1.Order.parseFrom(v1Bytes);
    return Order.newBuilder()
        .setOrderId(v1.getOrderId())
        .setCustomerId(v1.getCustomerId())
        .addItems(
            LineItem.newBuilder()
                .setSku(v1.getSku())
                .setQuantity(v1.getQuantity())
                .setUnitPriceMinor(v1.getUnitPriceCents()))
        .setCurrency("USD") // v1 prices were always US cents
        .setCreatedAtMs(v1.getCreatedAtMs())
        .build()
        .toByteArray();
  }
}
