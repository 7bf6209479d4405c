package dev.sluice.internal.schedule;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A recurring schedule's cron expression, parsed by cron-utils (protocol §13.5): five fields
 * (minute hour day-of-month month day-of-week, Unix cron) or six (a seconds field first, Spring
 * cron), read in a time zone. Immutable and thread-safe.
 */
public final class CronSpec {
  private static final List<String> UNIX_FIELDS =
      List.of("minute", "hour", "day-of-month", "month", "day-of-week");
  private static final List<String> SECONDS_FIELDS =
      List.of("second", "minute", "hour", "day-of-month", "month", "day-of-week");
  private static final CronParser UNIX =
      new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
  private static final CronParser SECONDS =
      new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.SPRING));

  private final String expression;
  private final ZoneId zone;
  private final ExecutionTime execution;

  private CronSpec(String expression, ZoneId zone, Cron cron) {
    this.expression = expression;
    this.zone = zone;
    this.execution = ExecutionTime.forCron(cron);
  }

  /**
   * Parses {@code expression} in {@code zone}.
   *
   * @throws IllegalArgumentException naming the field that is wrong, or the expected fields when
   *     their count is wrong
   */
  public static CronSpec parse(String expression, ZoneId zone) {
    if (expression == null || expression.isBlank()) {
      throw new IllegalArgumentException(
          "cron expression is empty; expected 5 fields (" + String.join(" ", UNIX_FIELDS) + ")");
    }
    if (zone == null) {
      throw new IllegalArgumentException("cron time zone is null; pass ZoneOffset.UTC for UTC");
    }
    String expr = expression.trim().replaceAll("\\s+", " ");
    String[] fields = expr.split(" ");
    List<String> names;
    CronParser parser;
    if (fields.length == 5) {
      names = UNIX_FIELDS;
      parser = UNIX;
    } else if (fields.length == 6) {
      names = SECONDS_FIELDS;
      parser = SECONDS;
    } else {
      throw new IllegalArgumentException(
          "cron expression '"
              + expression
              + "' has "
              + fields.length
              + " fields; expected 5 ("
              + String.join(" ", UNIX_FIELDS)
              + ") or 6 (second first)");
    }
    try {
      return new CronSpec(expr, zone, parser.parse(expr).validate());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "cron expression '"
              + expression
              + "': "
              + culprit(parser, fields, names)
              + " ("
              + e.getMessage()
              + ")",
          e);
    }
  }

  /** Parses a stored expression and zone id (§13.2). */
  public static CronSpec parse(String expression, String zoneId) {
    return parse(
        expression, zoneId == null || zoneId.isEmpty() ? ZoneId.of("UTC") : zoneId(zoneId));
  }

  private static ZoneId zoneId(String id) {
    try {
      return ZoneId.of(id);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("cron time zone '" + id + "' is not a zone id", e);
    }
  }

  /**
   * The first field that fails alone (every other field a wildcard): the one to fix. Falls back to
   * the whole expression when only the combination is wrong.
   */
  private static String culprit(CronParser parser, String[] fields, List<String> names) {
    for (int i = 0; i < fields.length; i++) {
      String[] probe = new String[fields.length];
      Arrays.fill(probe, "*");
      probe[i] = fields[i];
      try {
        parser.parse(String.join(" ", probe)).validate();
      } catch (IllegalArgumentException e) {
        return "field " + names.get(i) + " '" + fields[i] + "' is invalid";
      }
    }
    return "the fields do not combine";
  }

  public String expression() {
    return expression;
  }

  public ZoneId zone() {
    return zone;
  }

  /** The first tick strictly after {@code afterMs}, or empty when the expression never fires. */
  public Optional<Long> nextAfter(long afterMs) {
    // Ticks fall on whole seconds: start from the second that contains afterMs.
    ZonedDateTime t = Instant.ofEpochMilli(afterMs).atZone(zone).truncatedTo(ChronoUnit.SECONDS);
    return execution
        .nextExecution(t)
        .map(z -> z.truncatedTo(ChronoUnit.SECONDS).toInstant().toEpochMilli())
        .filter(ms -> ms > afterMs);
  }
}
