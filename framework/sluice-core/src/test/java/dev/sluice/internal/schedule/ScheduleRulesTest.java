package dev.sluice.internal.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.OutgoingMessage;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** The pure rules of scheduling: cron ticks, ids and subjects, the due index, the lease (§13). */
class ScheduleRulesTest {
  static long ms(String instant) {
    return Instant.parse(instant).toEpochMilli();
  }

  @Test
  void cronTicksFallOnWholeSecondsInTheirZone() {
    CronSpec nightly = CronSpec.parse("0 2 * * *", ZoneId.of("Europe/Paris"));
    // 02:00 in Paris in winter is 01:00 UTC.
    assertThat(nightly.nextAfter(ms("2027-01-05T10:15:30.123Z")))
        .contains(ms("2027-01-06T01:00:00Z"));
    CronSpec everySecond = CronSpec.parse("* * * * * *", ZoneOffset.UTC);
    assertThat(everySecond.nextAfter(ms("2027-01-05T10:15:30.123Z")))
        .contains(ms("2027-01-05T10:15:31Z"));
    assertThat(everySecond.nextAfter(ms("2027-01-05T10:15:30Z")))
        .contains(ms("2027-01-05T10:15:31Z"));
  }

  @Test
  void aBadCronExpressionNamesItsField() {
    assertThatThrownBy(() -> CronSpec.parse("0 2 * 13 *", ZoneOffset.UTC))
        .hasMessageContaining("field month '13' is invalid");
    assertThatThrownBy(() -> CronSpec.parse("61 * * * * *", ZoneOffset.UTC))
        .hasMessageContaining("field second '61' is invalid");
    assertThatThrownBy(() -> CronSpec.parse("* * *", ZoneOffset.UTC))
        .hasMessageContaining("has 3 fields; expected 5");
    assertThatThrownBy(() -> CronSpec.parse("0 2 * * *", "Mars/Olympus"))
        .hasMessageContaining("cron time zone 'Mars/Olympus'");
  }

  @Test
  void idsBecomeOneSubjectTokenAndTicksHaveTheirOwnIds() {
    assertThat(ScheduleWire.subject("orders", "a.b*>")).isEqualTo("sluice.sched.orders.YS5iKj4");
    assertThat(ScheduleWire.tickMessageId("nightly", 1_000)).isEqualTo("nightly-1000");
    assertThatThrownBy(() -> ScheduleWire.requireScheduleId("x".repeat(101)))
        .hasMessageContaining("1-100");
  }

  @Test
  void aPastTimeIsDueNowAndTooFarIsRefused() {
    assertThat(ScheduleWire.dueAt(5, 1_000)).isEqualTo(1_000);
    assertThat(ScheduleWire.dueAt(2_000, 1_000)).isEqualTo(2_000);
    long tooFar = 1_000 + ScheduleWire.MAX_DELAY.toMillis() + 1;
    assertThatThrownBy(() -> ScheduleWire.dueAt(tooFar, 1_000))
        .hasMessageContaining("at most 366 days ahead");
  }

  @Test
  void anEntryFiresTheStoredMessageWithoutItsSchedulingHeaders() {
    OutgoingMessage m =
        OutgoingMessage.builder("t.Job", 2, "p".getBytes())
            .messageId("m1")
            .header("k", "v")
            .build();
    var h =
        ScheduleWire.entryHeaders(
            m, "m1", 5_000, "00-" + "a".repeat(32) + "-" + "b".repeat(16) + "-01", "p1", 10, null);
    ScheduleEntry e = ScheduleEntry.of("sluice.sched.q.bTE", 7, h, "p".getBytes());
    OutgoingMessage fired = e.toMessage();
    assertThat(fired.messageId()).isEqualTo("m1");
    assertThat(fired.type()).isEqualTo("t.Job");
    assertThat(fired.version()).isEqualTo(2);
    assertThat(fired.headers()).containsExactly(java.util.Map.entry("k", "v"));
    assertThat(fired.traceparent()).contains("a".repeat(32));

    var cron = CronSpec.parse("* * * * * *", ZoneOffset.UTC);
    var ch = ScheduleWire.entryHeaders(m, "every", 5_000, "tp", "p1", 10, cron);
    ScheduleEntry ce = ScheduleEntry.of("s", 8, ch, new byte[0]);
    assertThat(ce.firedMessageId()).isEqualTo("every-5000");
    assertThat(ch.getFirst("Nats-Msg-Id")).isNull(); // writing a cron again redefines it
    assertThat(ScheduleWire.advanced(ch, 6_000).getFirst(ScheduleWire.H_DUE_AT)).isEqualTo("6000");
  }

  @Test
  void theIndexFiresInDueOrderAndKeepsOnlyTheNewestEntryOfASubject() {
    DueIndex idx = new DueIndex();
    idx.offer("b", 2, 200);
    idx.offer("a", 1, 100);
    idx.offer("a", 3, 300); // replaced: newer sequence
    idx.offer("a", 1, 100); // an older copy is ignored
    assertThat(idx.pollDue(99)).isNull();
    DueIndex.Slot first = idx.pollDue(1_000);
    assertThat(first.subject()).isEqualTo("b");
    DueIndex.Slot second = idx.pollDue(1_000);
    assertThat(second.subject()).isEqualTo("a");
    assertThat(second.sequence()).isEqualTo(3);

    // A held slot comes back later, keeping its due time for lateness.
    idx.retry(first, 2_000);
    assertThat(idx.pollDue(1_500)).isNull();
    assertThat(idx.overdue(1_500)).isEqualTo(2); // held b and a still firing
    idx.done(second);
    assertThat(idx.pollDue(2_000).dueMs()).isEqualTo(200);
  }

  @Test
  void theLeaseIsTakenWhenAbsentExpiredOrOwn() {
    var other = new FiringLease.Holder("b", 1_000);
    assertThat(FiringLease.claim(false, null, "a", 0)).isEqualTo(FiringLease.Claim.CREATE);
    assertThat(FiringLease.claim(true, other, "a", 500)).isEqualTo(FiringLease.Claim.STAND_BY);
    assertThat(FiringLease.claim(true, other, "a", 1_001)).isEqualTo(FiringLease.Claim.UPDATE);
    assertThat(FiringLease.claim(true, other, "b", 500)).isEqualTo(FiringLease.Claim.UPDATE);
    assertThat(FiringLease.claim(true, null, "a", 500)).isEqualTo(FiringLease.Claim.UPDATE);
    assertThat(FiringLease.Holder.parse("b 1000".getBytes())).isEqualTo(other);
    assertThat(FiringLease.Holder.parse("garbage".getBytes())).isNull();
  }
}
