package dev.sluice.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import io.nats.client.ReadListener;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The hops of {@code grant-latency}, seen from outside the worker and the producer: a tap
 * connection in the same JVM subscribes to the worker's acks, the credit subjects, the work
 * subject, the producer's pull requests and every inbox, and stamps each message with {@link
 * System#nanoTime()} as the server forwards it; the worker's and the producer's connections stamp
 * what they read ({@link ReadListener}), since the server sends a pull's messages to no one else.
 * For pair {@code i} (message {@code i} finished, send {@code i + window} acknowledged) the chain
 * splits into:
 *
 * <ol>
 *   <li>{@code ack}: handler end to its plain ack on the wire;
 *   <li>{@code confirm_start}: the plain ack to the double ack that covers it (§5.4);
 *   <li>{@code confirm}: the double ack to the server's reply;
 *   <li>{@code reply_read}: the reply to its reading on the worker's connection;
 *   <li>{@code mint}: that reading to the token's publish (the worker's own time);
 *   <li>{@code deliver}: the token's publish to its reading on the producer's connection;
 *   <li>{@code publish}: that reading to the producer's publish of send {@code i + window};
 *   <li>{@code puback}: that publish to its PubAck as the producer's caller sees it.
 * </ol>
 *
 * Message {@code i}'s token is the first the worker's replenisher minted after the answer to its
 * confirm that no earlier message took (token batch 1, one handler thread: messages finish in
 * order). The tap's own receive delay (tens of microseconds) is in the first hop and, with the
 * opposite sign, in {@code reply_read}.
 */
final class GrantHops implements AutoCloseable {
  static final String[] HOPS = {
    "ack", "confirm_start", "confirm", "reply_read", "mint", "deliver", "publish", "puback"
  };
  private static final Pattern SEQ = Pattern.compile("\"seq\":(\\d+)");

  private final Connection tap;
  private final Dispatcher d;
  private final String stream;
  // Written by the dispatcher's one thread only; read after close().
  private final Map<Long, Long> plainAck = new HashMap<>();
  private final List<long[]> doubleAcks = new ArrayList<>(); // {t, stream seq, index in replyTos}
  private final List<String> doubleReplyTos = new ArrayList<>();
  private final Map<String, Long> inbox = new HashMap<>();
  private final Map<String, Long> inboxSeq = new HashMap<>();
  private final Map<String, Long> tokenPublished = new HashMap<>();
  private final List<String> tokenOrder = new ArrayList<>();
  private final Map<Long, Long> sendSeen = new HashMap<>();
  private final Map<Long, String> sendReplyTo = new HashMap<>();
  private final List<Long> pulls = new ArrayList<>();

  // Stamped on the worker's and the producer's reader threads as they read a message.
  private final Map<String, Long> workerRead = new ConcurrentHashMap<>();
  private final Map<String, Long> producerRead = new ConcurrentHashMap<>();

  /** Stamps what the worker's connection reads: the answers to its double acks. */
  static ReadListener workerReads(GrantHops[] hops) {
    return new ReadListener() {
      @Override
      public void message(String op, Message m) {
        long t = System.nanoTime();
        if (hops[0] != null && m.getSubject().startsWith("_INBOX.") && m.getReplyTo() == null) {
          hops[0].workerRead.putIfAbsent(m.getSubject(), t);
        }
      }
    };
  }

  /** Stamps what the producer's connection reads: the credit tokens its pulls receive. */
  static ReadListener producerReads(GrantHops[] hops, String creditStream) {
    String prefix = "$JS.ACK." + creditStream + ".";
    return new ReadListener() {
      @Override
      public void message(String op, Message m) {
        long t = System.nanoTime();
        if (hops[0] != null && m.getReplyTo() != null && m.getReplyTo().startsWith(prefix)) {
          String id = m.getHeaders() == null ? null : m.getHeaders().getFirst("Nats-Msg-Id");
          if (id != null) {
            hops[0].producerRead.putIfAbsent(id, t);
          }
        }
      }
    };
  }

  GrantHops(Connection tap, String queue, String creditStream) {
    this.tap = tap;
    this.stream = "SLUICE_Q_" + queue;
    this.d = tap.createDispatcher(this::onMessage);
    d.subscribe("$JS.ACK." + stream + ".>");
    d.subscribe("_INBOX.>");
    d.subscribe("sluice.credit." + queue + ".>");
    d.subscribe("sluice.q." + queue);
    d.subscribe("$JS.API.CONSUMER.MSG.NEXT." + creditStream + ".credits-" + queue);
  }

  /** Waits until the tap has what the server sent it so far. */
  void sync() throws Exception {
    tap.flush(Duration.ofSeconds(5));
  }

  private synchronized void onMessage(Message m) {
    long t = System.nanoTime();
    String subject = m.getSubject();
    if (subject.startsWith("$JS.ACK.")) {
      String body = new String(m.getData(), StandardCharsets.US_ASCII);
      if (!body.startsWith("+ACK")) {
        return;
      }
      String[] tok = subject.split("\\.");
      long seq = Long.parseLong(tok[5]); // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>...
      if (m.getReplyTo() == null) {
        plainAck.putIfAbsent(seq, t);
      } else {
        doubleAcks.add(new long[] {t, seq, doubleReplyTos.size()});
        doubleReplyTos.add(m.getReplyTo());
      }
    } else if (subject.startsWith("_INBOX.")) {
      if (inbox.putIfAbsent(subject, t) == null && m.getData() != null) {
        Matcher s = SEQ.matcher(new String(m.getData(), StandardCharsets.US_ASCII));
        if (s.find()) {
          inboxSeq.put(subject, Long.parseLong(s.group(1)));
        }
      }
    } else if (subject.startsWith("$JS.API.")) {
      pulls.add(t);
    } else if (subject.startsWith("sluice.credit.")) {
      String id = m.getHeaders() == null ? null : m.getHeaders().getFirst("Nats-Msg-Id");
      if (id != null && tokenPublished.putIfAbsent(id, t) == null) {
        tokenOrder.add(id);
      }
    } else if (m.getData() != null && m.getData().length >= 16) {
      long i = ByteBuffer.wrap(m.getData()).getLong(8);
      if (sendSeen.putIfAbsent(i, t) == null && m.getReplyTo() != null) {
        sendReplyTo.put(i, m.getReplyTo());
      }
    }
  }

  /** The hops of every complete pair in {@code [first, last - w]}: rows of total then hops (ns). */
  synchronized List<long[]> pairs(
      AtomicLongArray finished, long[] pubAcked, long first, long last, int w) {
    // Stream sequence of each message, from the PubAcks the tap saw.
    Map<Long, Long> seqOf = new HashMap<>();
    sendReplyTo.forEach(
        (i, reply) -> {
          Long seq = inboxSeq.get(reply);
          if (seq != null) {
            seqOf.put(i, seq);
          }
        });
    List<String> replenished = replenisherTokens();
    List<long[]> rows = new ArrayList<>();
    int di = 0;
    int ti = 0;
    int pi = 0;
    for (long i = first; i + w <= last; i++) {
      long f = finished.get((int) i);
      long e = pubAcked[(int) (i + w)];
      Long seq = seqOf.get(i);
      if (f <= 0 || e <= 0 || seq == null) {
        continue;
      }
      Long a = plainAck.get(seq);
      if (a == null) {
        continue;
      }
      while (di < doubleAcks.size() && doubleAcks.get(di)[0] < a) {
        di++;
      }
      int c = di;
      while (c < doubleAcks.size() && doubleAcks.get(c)[1] < seq) {
        c++;
      }
      if (c >= doubleAcks.size()) {
        continue;
      }
      long[] dbl = doubleAcks.get(c);
      Long r = inbox.get(doubleReplyTos.get((int) dbl[2]));
      if (r == null) {
        continue;
      }
      // The first token minted after this confirm's answer that no earlier message took.
      while (ti < replenished.size() && tokenPublished.get(replenished.get(ti)) < r) {
        ti++;
      }
      if (ti >= replenished.size()) {
        continue;
      }
      String token = replenished.get(ti++);
      Long m = tokenPublished.get(token);
      Long rr = workerRead.get(doubleReplyTos.get((int) dbl[2]));
      Long dr = producerRead.get(token);
      Long s = sendSeen.get(i + w);
      if (s == null || rr == null || dr == null) {
        continue;
      }
      long[] at = {f, a, dbl[0], r, rr, m, dr, s, e};
      long[] row = new long[HOPS.length + 2];
      row[0] = e - f;
      for (int h = 0; h < HOPS.length; h++) {
        row[h + 1] = at[h + 1] - at[h];
      }
      // The producer's last pull before this send: issued after the token was stored means the
      // token waited for a pull.
      while (pi + 1 < pulls.size() && pulls.get(pi + 1) < s) {
        pi++;
      }
      row[HOPS.length + 1] = pi < pulls.size() ? Math.max(0, pulls.get(pi) - m) : 0;
      rows.add(row);
    }
    return rows;
  }

  /** The replenisher's tokens in minting order: the minter instance that minted the most. */
  private List<String> replenisherTokens() {
    Map<String, List<String>> byMinter = new HashMap<>();
    for (String id : tokenOrder) {
      int dot = id.lastIndexOf('.');
      byMinter.computeIfAbsent(id.substring(0, dot), k -> new ArrayList<>()).add(id);
    }
    List<String> most = List.of();
    for (List<String> ids : byMinter.values()) {
      if (ids.size() > most.size()) {
        most = ids;
      }
    }
    List<String> sorted = new ArrayList<>(most);
    sorted.sort(
        (x, y) ->
            Long.compare(
                Long.parseLong(x.substring(x.lastIndexOf('.') + 1)),
                Long.parseLong(y.substring(y.lastIndexOf('.') + 1))));
    return sorted;
  }

  /**
   * The split of the slowest 1 % of pairs (by total) against all pairs: each hop's median and mean
   * in ms, and how many of the slowest pairs had it as their longest hop.
   */
  static Split split(List<long[]> rows) {
    List<long[]> sorted = new ArrayList<>(rows);
    sorted.sort((x, y) -> Long.compare(x[0], y[0]));
    int n = sorted.size();
    int tail = Math.min(n, Math.max(1, n / 100));
    List<long[]> slow = sorted.subList(n - tail, n);
    return new Split(n, stats(sorted), stats(slow), longest(slow));
  }

  private static double[][] stats(List<long[]> rows) {
    int cols = HOPS.length + 2;
    double[][] out = new double[cols][2];
    for (int c = 0; c < cols; c++) {
      long[] v = new long[rows.size()];
      double sum = 0;
      for (int r = 0; r < v.length; r++) {
        v[r] = rows.get(r)[c];
        sum += v[r];
      }
      Arrays.sort(v);
      out[c][0] = v.length == 0 ? 0 : v[v.length / 2] / 1e6;
      out[c][1] = v.length == 0 ? 0 : sum / v.length / 1e6;
    }
    return out;
  }

  private static int[] longest(List<long[]> rows) {
    int[] count = new int[HOPS.length];
    for (long[] row : rows) {
      int best = 1;
      for (int h = 2; h <= HOPS.length; h++) {
        if (row[h] > row[best]) {
          best = h;
        }
      }
      count[best - 1]++;
    }
    return count;
  }

  /** Hop medians and means (ms) of all pairs and of the slowest 1 %; column 0 is the total. */
  record Split(int pairs, double[][] all, double[][] slowest, int[] longestInSlowest) {
    String describe() {
      StringBuilder b = new StringBuilder();
      b.append(
          String.format(
              Locale.ROOT,
              "hops of %d pairs (ms; median all | median slowest 1%% | mean slowest 1%% |"
                  + " longest hop in slowest):%n",
              pairs));
      b.append(
          String.format(
              Locale.ROOT,
              "  %-14s %7.3f | %7.3f | %7.3f%n",
              "total",
              all[0][0],
              slowest[0][0],
              slowest[0][1]));
      for (int h = 0; h < HOPS.length; h++) {
        b.append(
            String.format(
                Locale.ROOT,
                "  %-14s %7.3f | %7.3f | %7.3f | %d%n",
                HOPS[h],
                all[h + 1][0],
                slowest[h + 1][0],
                slowest[h + 1][1],
                longestInSlowest[h]));
      }
      b.append(
          String.format(
              Locale.ROOT,
              "  (pull issued after the token was stored: %7.3f | %7.3f | %7.3f)%n",
              all[HOPS.length + 1][0],
              slowest[HOPS.length + 1][0],
              slowest[HOPS.length + 1][1]));
      return b.toString();
    }

    ObjectNode json() {
      ObjectNode o = Json.object();
      o.put("pairs", pairs);
      ObjectNode med = o.putObject("median_ms");
      ObjectNode slowMed = o.putObject("slowest_1pct_median_ms");
      ObjectNode slowMean = o.putObject("slowest_1pct_mean_ms");
      ObjectNode longest = o.putObject("slowest_1pct_longest_hop_count");
      med.put("total", Json.round(all[0][0], 3));
      slowMed.put("total", Json.round(slowest[0][0], 3));
      slowMean.put("total", Json.round(slowest[0][1], 3));
      for (int h = 0; h < HOPS.length; h++) {
        med.put(HOPS[h], Json.round(all[h + 1][0], 3));
        slowMed.put(HOPS[h], Json.round(slowest[h + 1][0], 3));
        slowMean.put(HOPS[h], Json.round(slowest[h + 1][1], 3));
        longest.put(HOPS[h], longestInSlowest[h]);
      }
      med.put("pull_late", Json.round(all[HOPS.length + 1][0], 3));
      slowMed.put("pull_late", Json.round(slowest[HOPS.length + 1][0], 3));
      slowMean.put("pull_late", Json.round(slowest[HOPS.length + 1][1], 3));
      return o;
    }
  }

  @Override
  public void close() {
    tap.closeDispatcher(d);
  }
}
