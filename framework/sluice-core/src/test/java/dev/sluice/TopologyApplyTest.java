package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.ApplyReport.Action;
import dev.sluice.internal.topology.ConfigLoader;
import dev.sluice.internal.topology.Definition;
import dev.sluice.internal.topology.Topology;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StreamInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class TopologyApplyTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();

  static Path configDir() throws Exception {
    return Path.of(
            TopologyApplyTest.class.getResource("/jetstream-config/queues/orders.json").toURI())
        .getParent()
        .getParent();
  }

  @Test
  void applyingJetstreamConfigTwiceChangesNothingTheSecondTime() throws Exception {
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      ApplyReport first = sluice.apply(configDir(), false);
      assertThat(first.changed()).isTrue();
      assertThat(first.changes())
          .extracting(ApplyReport.Change::action)
          .doesNotContain(Action.CONFLICT);

      ApplyReport second = sluice.apply(configDir(), false);

      assertThat(second.changed()).as(second.toString()).isFalse();
      assertThat(second.changes()).hasSize(first.changes().size());
      assertThat(second.changes())
          .allMatch(c -> c.action() == Action.UNCHANGED && c.diffs().isEmpty());
      StreamInfo work = nc.jetStreamManagement().getStreamInfo("SLUICE_Q_orders");
      assertThat(work.getConfiguration().getRetentionPolicy()).isEqualTo(RetentionPolicy.WorkQueue);
      assertThat(work.getConfiguration().getMaxMsgs()).isEqualTo(100_000);
    }
  }

  @Test
  void provisionIsIdempotentAndReportsWhatItUpdates() {
    String q = NATS.uniqueName("prov");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      assertThat(sluice.provision(QueueSpec.of(q)).changed()).isTrue();
      assertThat(sluice.provision(QueueSpec.of(q)).changed()).isFalse();

      ApplyReport raised = sluice.provision(QueueSpec.builder(q).hardLimit(5000).build());

      ApplyReport.Change stream =
          raised.changes().stream()
              .filter(c -> c.name().equals("SLUICE_Q_" + q))
              .findFirst()
              .orElseThrow();
      assertThat(stream.action()).isEqualTo(Action.UPDATED);
      assertThat(stream.diffs()).containsExactly("max_msgs: server=100000, wanted=5000");
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void dryRunChangesNothing(@TempDir Path dir) throws Exception {
    copyConfig(dir);
    Files.writeString(
        dir.resolve("queues/orders.json"),
        "{\"queue\": \"dry-" + NATS.uniqueName("x") + "\", \"standing_buffer\": 0}");
    try (Connection nc = NATS.server().connect()) {
      ApplyReport report = Sluice.using(nc).apply(dir, true);
      assertThat(report.changes())
          .filteredOn(c -> c.kind().equals("queue"))
          .singleElement()
          .extracting(ApplyReport.Change::action)
          .isEqualTo(Action.WOULD_CREATE);
      assertThat(report.changes())
          .noneMatch(c -> c.action() == Action.CREATED || c.action() == Action.UPDATED);
    }
  }

  @Test
  void malformedConfigFileIsRejectedWithFileAndField(@TempDir Path dir) throws Exception {
    copyConfig(dir);
    Path bad = dir.resolve("streams/SLUICE_Q_orders.json");
    Files.writeString(bad, Files.readString(bad).replace("\"workqueue\"", "\"work-queue\""));
    try (Connection nc = NATS.server().connect()) {
      assertThatThrownBy(() -> Sluice.using(nc).apply(dir, false))
          .isInstanceOf(TopologyException.class)
          .hasMessageContaining(bad.toString())
          .hasMessageContaining("field 'retention'")
          .hasMessageContaining("interest|limits|workqueue");
    }
  }

  @Test
  void unknownFieldWrongTypeAndBrokenJsonAreNamed(@TempDir Path dir) throws Exception {
    copyConfig(dir);
    Path consumer = dir.resolve("consumers/SLUICE_Q_orders.workers.json");
    Files.writeString(consumer, Files.readString(consumer).replace("\"ack_wait\"", "\"ack_wiat\""));
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .hasMessageContaining(consumer.toString())
        .hasMessageContaining("field 'config.ack_wiat': unknown field");

    copyConfig(dir);
    Path stream = dir.resolve("streams/SLUICE_DLQ.json");
    Files.writeString(
        stream,
        Files.readString(stream).replace("\"num_replicas\": 1", "\"num_replicas\": \"one\""));
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .hasMessageContaining(stream.toString())
        .hasMessageContaining("field 'num_replicas': expected an integer");

    copyConfig(dir);
    Path queue = dir.resolve("queues/orders.json");
    Files.writeString(queue, "{\"queue\": \"orders\", \"token_batch\": 24}");
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .hasMessageContaining("field 'token_batch': must be a power of two");

    Files.writeString(queue, "{\"queue\": ");
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .hasMessageContaining(queue.toString())
        .hasMessageContaining("not valid JSON");
  }

  @Test
  void checkedInConfigMatchesTheGeneratedTopology() throws Exception {
    Map<String, Object> files =
        ConfigLoader.load(configDir()).stream()
            .collect(Collectors.toMap(Definition::displayName, d -> plain(d.json())));
    Map<String, Object> generated =
        Topology.forQueue(QueueSpec.of("orders")).stream()
            .collect(Collectors.toMap(Definition::displayName, d -> plain(d.json())));
    assertThat(files).isEqualTo(generated);
  }

  /** JSON as plain Java values, numbers as longs, so key order and number width do not matter. */
  static Object plain(io.nats.client.support.JsonValue v) {
    return switch (v.type) {
      case MAP -> {
        Map<String, Object> m = new java.util.TreeMap<>();
        v.map.forEach((k, x) -> m.put(k, plain(x)));
        yield m;
      }
      case ARRAY -> v.array.stream().map(TopologyApplyTest::plain).toList();
      case STRING -> v.string;
      case BOOL -> v.bool;
      case NULL -> "null";
      default -> v.number.longValue();
    };
  }

  private static void copyConfig(Path dir) throws Exception {
    Path src = configDir();
    for (String sub : List.of("streams", "consumers", "queues")) {
      Files.createDirectories(dir.resolve(sub));
      try (var s = Files.list(src.resolve(sub))) {
        for (Path p : s.toList()) {
          Files.copy(
              p,
              dir.resolve(sub).resolve(p.getFileName()),
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }
}
