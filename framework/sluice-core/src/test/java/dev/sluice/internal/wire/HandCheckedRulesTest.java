package dev.sluice.internal.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The hand-written checks that replaced regular expressions on the per-message path, held against
 * the regular expressions of protocol §3, §9 and §10 as the oracle: on chosen edge cases and on
 * random strings drawn from the characters around each rule's borders. If a check accepted one
 * character or one length too many, a malformed message would reach a handler (or a valid one be
 * dead-lettered), and the peers, which follow the same rules, would disagree with this worker.
 */
class HandCheckedRulesTest {
  static final Pattern MSG_ID = Pattern.compile("[\\x21-\\x7e]{1,128}");
  static final Pattern TYPE = Pattern.compile("[A-Za-z0-9_./-]{1,256}");
  static final Pattern POSITIVE = Pattern.compile("[1-9][0-9]{0,9}");
  static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_-]{1,200}");
  static final Pattern TRACEPARENT =
      Pattern.compile("00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})");

  /** Characters at and around every class border, plus a few outside ASCII. */
  static final String ALPHABET = " !~\u007f\t\n/.-_+09aAzZfFgG:@[`{\u00e9\u2028\u0000";

  @Test
  void messageIdMatchesItsRuleAtTheBorders() {
    for (String v :
        List.of("", "a", " ", "a b", "\u007f", "~", "!", "x".repeat(128), "x".repeat(129), "é")) {
      assertThat(HeaderCheck.msgId(v)).as("'%s'", v).isEqualTo(MSG_ID.matcher(v).matches());
    }
  }

  @Test
  void typeNameMatchesItsRuleAtTheBorders() {
    for (String v :
        List.of("", "a.b/c-d_e", "a b", "a+b", "a:b", "x".repeat(256), "x".repeat(257), "é")) {
      assertThat(HeaderCheck.typeName(v)).as("'%s'", v).isEqualTo(TYPE.matcher(v).matches());
    }
  }

  @Test
  void positiveAcceptsOnlyCanonicalIntsAndReturnsTheirValue() {
    assertThat(HeaderCheck.positive("1")).isEqualTo(1);
    assertThat(HeaderCheck.positive("2147483647")).isEqualTo(Integer.MAX_VALUE);
    for (String v :
        List.of("", "0", "01", "-1", "+1", "2147483648", "9999999999", "12345678901", "1a", " 1")) {
      assertThat(HeaderCheck.positive(v)).as("'%s'", v).isEqualTo(-1);
    }
  }

  @Test
  void traceparentParsesExactlyTheW3cForm() {
    String good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    TraceContext t = TraceContext.parse(good);
    assertThat(t.traceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    assertThat(t.spanId()).isEqualTo("00f067aa0ba902b7");
    assertThat(t.flags()).isEqualTo("01");
    assertThat(t.header()).isEqualTo(good);
    for (String bad :
        List.of(
            "01" + good.substring(2),
            good.toUpperCase(),
            good + "-",
            good.substring(1),
            good.replace('-', '_'),
            "00-" + "0".repeat(32) + "-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0".repeat(16) + "-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g")) {
      assertThat(TraceContext.parse(bad)).as(bad).isNull();
    }
  }

  @Test
  void generatedIdsAreValidNonZeroAndDistinct() {
    TraceContext a = TraceContext.newTrace();
    TraceContext b = a.child();
    assertThat(TraceContext.parse(a.header())).isEqualTo(a);
    assertThat(TraceContext.parse(b.header())).isEqualTo(b);
    assertThat(b.traceId()).isEqualTo(a.traceId());
    assertThat(b.spanId()).isNotEqualTo(a.spanId());
    assertThat(TraceContext.newTrace().traceId()).isNotEqualTo(a.traceId());
  }

  @Test
  void newTraceHeadersAreValidNonZeroDistinctAndCarryTheFlag() {
    for (boolean sampled : new boolean[] {true, false}) {
      String a = TraceContext.newTraceHeader(sampled);
      String b = TraceContext.newTraceHeader(sampled);
      assertThat(TRACEPARENT.matcher(a).matches()).as(a).isTrue();
      TraceContext parsed = TraceContext.parse(a);
      assertThat(parsed).as(a).isNotNull();
      assertThat(parsed.flags()).isEqualTo(sampled ? "01" : "00");
      assertThat(parsed.header()).isEqualTo(a);
      assertThat(TraceContext.parse(b).traceId()).isNotEqualTo(parsed.traceId());
    }
  }

  @Test
  void randomStringsAgreeWithTheRegularExpressions() {
    Random r = new Random(42); // fixed: a failure names its input and can be replayed
    for (int i = 0; i < 20_000; i++) {
      String v = random(r, r.nextInt(6) == 0 ? 120 + r.nextInt(140) : r.nextInt(12));
      assertThat(HeaderCheck.msgId(v)).as("'%s'", v).isEqualTo(MSG_ID.matcher(v).matches());
      assertThat(HeaderCheck.typeName(v)).as("'%s'", v).isEqualTo(TYPE.matcher(v).matches());
      assertThat(IdKeys.plain(v)).as("'%s'", v).isEqualTo(PLAIN.matcher(v).matches());
      boolean canonical = POSITIVE.matcher(v).matches() && Long.parseLong(v) <= Integer.MAX_VALUE;
      assertThat(HeaderCheck.positive(v) > 0).as("'%s'", v).isEqualTo(canonical);
    }
    for (int i = 0; i < 20_000; i++) {
      char[] c = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".toCharArray();
      c[r.nextInt(c.length)] = ALPHABET.charAt(r.nextInt(ALPHABET.length()));
      String v = new String(c);
      var m = TRACEPARENT.matcher(v);
      boolean valid =
          m.matches() && !m.group(1).equals("0".repeat(32)) && !m.group(2).equals("0".repeat(16));
      assertThat(TraceContext.parse(v) != null).as(v).isEqualTo(valid);
    }
  }

  private static String random(Random r, int n) {
    StringBuilder b = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      b.append(
          r.nextBoolean()
              ? ALPHABET.charAt(r.nextInt(ALPHABET.length()))
              : (char) ('0' + r.nextInt(10)));
    }
    return b.toString();
  }
}
