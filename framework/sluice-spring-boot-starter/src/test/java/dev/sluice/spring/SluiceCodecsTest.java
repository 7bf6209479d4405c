package dev.sluice.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Empty;
import dev.sluice.jackson.JsonCodec;
import dev.sluice.spi.Codec;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.beans.factory.support.RootBeanDefinition;
import org.springframework.core.ResolvableType;

/** Which codec a payload class gets (pure logic: a bean factory, no server). */
class SluiceCodecsTest {
  @SluicePayload(type = "acme.Invoice", version = 3)
  record Invoice(String id) {}

  record Receipt(String id) {}

  private final DefaultListableBeanFactory beans = new DefaultListableBeanFactory();
  private final SluiceCodecs codecs = new SluiceCodecs(beans, JsonCodec.defaultMapper());

  private void register(String name, Class<?> payload, Codec<?> codec) {
    RootBeanDefinition d = new RootBeanDefinition();
    d.setTargetType(ResolvableType.forClassWithGenerics(Codec.class, payload));
    d.setInstanceSupplier(() -> codec);
    beans.registerBeanDefinition(name, d);
  }

  @Test
  void jsonWithTheTypeAndVersionOfSluicePayload() {
    Codec<Invoice> c = codecs.forClass(Invoice.class);
    assertThat(c).isInstanceOf(JsonCodec.class);
    assertThat(c.type()).isEqualTo("acme.Invoice");
    assertThat(c.version()).isEqualTo(3);
    assertThat(codecs.forClass(Invoice.class)).isSameAs(c);
  }

  @Test
  void withoutSluicePayloadTheCanonicalNameAndVersionOne() {
    Codec<Receipt> c = codecs.forClass(Receipt.class);
    assertThat(c.type()).isEqualTo("dev.sluice.spring.SluiceCodecsTest.Receipt");
    assertThat(c.version()).isEqualTo(1);
  }

  @Test
  void aCodecBeanForTheClassWins() {
    Codec<String> notes = Codec.utf8("acme.Note", 2);
    register("notes", String.class, notes);
    register("invoices", Invoice.class, JsonCodec.of("other.Invoice", 9, Invoice.class));
    assertThat(codecs.forClass(String.class)).isSameAs(notes);
    assertThat(codecs.forClass(Invoice.class).type()).isEqualTo("other.Invoice");
  }

  @Test
  void twoCodecBeansForOneClassAreRefusedByName() {
    register("a", String.class, Codec.utf8("a.Note", 1));
    register("b", String.class, Codec.utf8("b.Note", 1));
    assertThatThrownBy(() -> codecs.forClass(String.class))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("more than one Codec<java.lang.String> bean [a, b]");
  }

  @Test
  void aProtobufMessageNeedsACodecBean() {
    assertThatThrownBy(() -> codecs.forClass(Empty.class))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no Codec<com.google.protobuf.Empty> bean for a protobuf message")
        .hasMessageContaining("Codec.protobuf(\"acme.Type\", 1, Empty.parser())");
  }
}
