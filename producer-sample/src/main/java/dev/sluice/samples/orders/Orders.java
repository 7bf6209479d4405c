package dev.sluice.samples.orders;

import dev.sluice.spi.Codec;

/**
 * The sample's queue and payload type. One logical type, {@code sluice.demo.Order}, exists in two
 * schema versions; each version has its own generated class and its own {@link Codec}. A codec
 * fixes the {@code Sluice-Type} and {@code Sluice-Type-Version} headers a message carries, so
 * producers pick the version by picking the codec.
 */
public final class Orders {
  private Orders() {}

  /** The queue provisioned by {@code jetstream-config/} at the repository root. */
  public static final String QUEUE = "orders";

  /** The {@code Sluice-Type} of both versions: a logical name, not a Java or protobuf name. */
  public static final String TYPE = "sluice.demo.Order";

  /** Version 1: one SKU per order, prices in US cents. */
  public static final Codec<dev.sluice.samples.orders.v1.Order> V1 =
      Codec.protobuf(TYPE, 1, dev.sluice.samples.orders.v1.Order.parser());

  /** Version 2: line items and a currency. What new producers send and workers handle. */
  public static final Codec<dev.sluice.samples.orders.v2.Order> V2 =
      Codec.protobuf(TYPE, 2, dev.sluice.samples.orders.v2.Order.parser());
}
