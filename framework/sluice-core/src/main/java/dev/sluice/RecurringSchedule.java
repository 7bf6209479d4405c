package dev.sluice;

import java.time.Instant;
import java.time.ZoneId;

/**
 * A cron schedule the schedule stream stored. Each tick fires one message with id {@code
 * <scheduleId>-<tick Unix ms>}, once across every process of the queue.
 *
 * @param scheduleId its id; pass it to {@link QueueProducer#cancel} to stop it
 * @param cron the expression
 * @param zone the zone the expression is read in
 * @param nextDueAt its next tick
 */
public record RecurringSchedule(String scheduleId, String cron, ZoneId zone, Instant nextDueAt) {}
