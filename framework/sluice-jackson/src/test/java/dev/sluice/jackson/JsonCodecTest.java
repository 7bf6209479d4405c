package dev.sluice.jackson;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The codec's rules, byte for byte (pure logic: no server). */
class JsonCodecTest {
  record Item(String sku, int quantity) {}

  /** A POJO with a no-argument constructor and setters. */
  public static final class Customer {
    private String name;
    private Map<String, String> tags;

    public String getName() {
      return name;
    }

    public void setName(String name) {
      this.name = name;
    }

    public Map<String, String> getTags() {
      return tags;
    }

    public void setTags(Map<String, String> tags) {
      this.tags = tags;
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void typeVersionAndContentTypeComeFromTheCodec() {
    JsonCodec<Item> codec = JsonCodec.of("shop.Item", 3, Item.class);
    assertThat(codec.type()).isEqualTo("shop.Item");
    assertThat(codec.version()).isEqualTo(3);
    assertThat(codec.contentType()).isEqualTo("application/json");
    assertThat(codec).hasToString("JsonCodec[shop.Item@3, dev.sluice.jackson.JsonCodecTest$Item]");
  }

  @Test
  void writesARecordAsPlainJsonAndReadsItBack() throws Exception {
    JsonCodec<Item> codec = JsonCodec.of("shop.Item", 1, Item.class);
    byte[] bytes = codec.encode(new Item("SKU-1", 2));
    assertThat(new String(bytes, StandardCharsets.UTF_8))
        .isEqualTo("{\"sku\":\"SKU-1\",\"quantity\":2}");
    assertThat(codec.decode(bytes)).isEqualTo(new Item("SKU-1", 2));
  }

  @Test
  void readsAPojoAndAGenericType() throws Exception {
    JsonCodec<Customer> customers = JsonCodec.of("shop.Customer", 1, Customer.class);
    Customer c = customers.decode(utf8("{\"name\":\"Ada\",\"tags\":{\"tier\":\"gold\"}}"));
    assertThat(c.getName()).isEqualTo("Ada");
    assertThat(c.getTags()).containsEntry("tier", "gold");

    JsonCodec<List<Item>> lists = JsonCodec.of("shop.Items", 1, new TypeReference<>() {});
    assertThat(lists.decode(utf8("[{\"sku\":\"A\",\"quantity\":1}]")))
        .containsExactly(new Item("A", 1));
  }

  @Test
  void ignoresFieldsItDoesNotKnowAsProtobufDoes() throws Exception {
    JsonCodec<Item> codec = JsonCodec.of("shop.Item", 1, Item.class);
    assertThat(codec.decode(utf8("{\"sku\":\"A\",\"quantity\":1,\"giftWrap\":true}")))
        .isEqualTo(new Item("A", 1));
  }

  @Test
  void decodeErrorsNameTypeFieldPathAndPosition() {
    JsonCodec<Item> codec = JsonCodec.of("shop.Item", 2, Item.class);
    assertThatThrownBy(() -> codec.decode(utf8("{\"sku\":\"A\",\"quantity\":null}")))
        .isInstanceOf(JsonDecodeException.class)
        .hasMessageStartingWith("shop.Item v2 (dev.sluice.jackson.JsonCodecTest$Item): ")
        .hasMessageContaining("at $.quantity")
        .hasMessageContaining("(line 1, column");
    assertThatThrownBy(() -> codec.decode(utf8("{\"sku\":\"A\",\"quantity\":1} trailing")))
        .isInstanceOf(JsonDecodeException.class)
        .hasMessageContaining("Unrecognized token 'trailing'");
    assertThatThrownBy(() -> codec.decode(utf8("{\"sku\":\"A\"}")))
        .isInstanceOf(JsonDecodeException.class)
        .hasMessageContaining("at $.quantity");
    assertThatThrownBy(() -> codec.decode(utf8("null")))
        .isInstanceOf(JsonDecodeException.class)
        .hasMessageEndingWith("the payload is empty or JSON null");
    assertThatThrownBy(() -> codec.decode(new byte[0]))
        .isInstanceOf(JsonDecodeException.class)
        .hasMessageContaining("shop.Item v2");
  }

  @Test
  void encodeErrorsAreUncheckedAndSayWhatCouldNotBeWritten() {
    JsonCodec<Object> codec = JsonCodec.of("x.Any", 1, Object.class);
    assertThatThrownBy(() -> codec.encode(new Object()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("cannot write x.Any v1 (java.lang.Object) as JSON: ");
  }

  @Test
  void refusesAVersionBelowOne() {
    assertThatThrownBy(() -> JsonCodec.of("x.Any", 0, Object.class))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("version 0 < 1");
  }
}
