package dev.sluice.samples.spring;

import dev.sluice.spring.SluicePayload;
import java.util.List;

/** An order, sent as JSON of type {@code sample.Order} version 1. */
@SluicePayload(type = "sample.Order", version = 1)
public record Order(String orderId, List<Line> lines) {
  /** One line of an order. */
  public record Line(String sku, int quantity) {}
}
