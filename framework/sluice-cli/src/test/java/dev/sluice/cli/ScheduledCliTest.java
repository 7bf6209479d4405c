package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.ScheduledSend;
import dev.sluice.Sluice;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.support.JsonValue;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code sluice scheduled list|show|cancel} and the scheduling part of {@code status}. */
class ScheduledCliTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8("test.Job", 1);

  static CliHarness.Run cli(String... args) {
    return CliHarness.cliAt(NATS.server().url(), args);
  }

  @Test
  void listShowCancelAndStatusSeeWhatIsScheduled() throws Exception {
    String q = NATS.uniqueName("q");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.of(q));
      ScheduledSend later;
      try (QueueProducer p = sluice.producer(q).build()) {
        later = p.sendAfter(OutgoingMessage.of(JOB, "later"), Duration.ofHours(1));
        p.sendAt(OutgoingMessage.of(JOB, "sooner"), Instant.now().plusSeconds(600));
        p.schedule(
            "nightly", "0 2 * * *", ZoneId.of("Europe/Paris"), OutgoingMessage.of(JOB, "cleanup"));
      }

      CliHarness.Run list = cli("--json", "scheduled", "list", q);
      assertThat(list.code()).as(list.err()).isZero();
      JsonValue doc = list.json();
      assertThat(doc.map.get("count").number.longValue()).isEqualTo(3);
      assertThat(doc.map.get("scheduled").array)
          .extracting(v -> v.map.get("id").string)
          .contains(later.messageId(), "nightly")
          .hasSize(3);
      // Earliest due first: the message due in ten minutes.
      assertThat(doc.map.get("scheduled").array.get(0).map.get("id").string)
          .isNotEqualTo(later.messageId());

      CliHarness.Run show = cli("--json", "scheduled", "show", q, "nightly");
      assertThat(show.code()).as(show.err()).isZero();
      assertThat(show.json().map.get("cron").string).isEqualTo("0 2 * * *");
      assertThat(show.json().map.get("zone").string).isEqualTo("Europe/Paris");
      assertThat(show.json().map.get("payload").string).isEqualTo("cleanup");

      CliHarness.Run status = cli("--json", "status", q);
      JsonValue sched = status.queue().map.get("scheduled");
      assertThat(sched.map.get("count").number.longValue()).isEqualTo(3);
      assertThat(sched.map.get("next_due_unix_ms").number.longValue())
          .isBetween(
              Instant.now().plusSeconds(500).toEpochMilli(),
              Instant.now().plusSeconds(700).toEpochMilli());
      // No scheduler runs: status says so, since nothing would fire.
      assertThat(sched.map.get("firer")).isNull();
      assertThat(cli("status", q).out())
          .contains("SCHEDULED")
          .contains("3, next in")
          .contains("no scheduler");

      CliHarness.Run cancel = cli("--json", "scheduled", "cancel", q, later.messageId());
      assertThat(cancel.code()).isZero();
      assertThat(cancel.json().map.get("cancelled").bool).isTrue();
      CliHarness.Run again = cli("scheduled", "cancel", q, later.messageId());
      assertThat(again.code()).isEqualTo(ExitCodes.NOT_FOUND);
      assertThat(again.out()).contains("nothing scheduled under");
      CliHarness.Run gone = cli("scheduled", "show", q, later.messageId());
      assertThat(gone.code()).isEqualTo(ExitCodes.NOT_FOUND);
      assertThat(gone.err()).contains("it fired or was cancelled");
      assertThat(cli("scheduled", "list", q).out()).contains("2 of 2 scheduled messages shown");
    }
  }
}
