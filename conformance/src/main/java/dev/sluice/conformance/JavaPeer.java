package dev.sluice.conformance;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import dev.sluice.Backoff;
import dev.sluice.DeadLetterPolicy;
import dev.sluice.MessageContext;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QuietPullErrorListener;
import dev.sluice.RejectMessageException;
import dev.sluice.SendResult;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.spi.Codec;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.MessageInfo;
import io.nats.client.impl.Headers;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.LoggerFactory;

/**
 * The Java conformance peer: the command-line contract of {@code peers/README.md} on the Java
 * library, so the runner drives Java, Go and Rust alike.
 *
 * <pre>
 * JavaPeer worker  --server URL --queue Q --worker-id ID [--concurrency N=4] [--prefetch N=4]
 *                  [--work-ms N=0] [--handles TYPE@MIN-MAX[,...]] [--max-attempts N=3]
 *                  [--backoff-initial-ms N=100] [--grace-ms N=3000] [--grace-delay-ms N=500]
 *                  [--token-batch N=8] [--capacity N]
 * JavaPeer produce --server URL --queue Q --producer-id ID --count N [--type T] [--version V]
 *                  [--start N=0] [--behavior ok|poison|fail-once] [--acquire-timeout-ms N=30000]
 * </pre>
 *
 * <p>The library has no per-message outcome callback, so {@code dead_lettered} and {@code nak}
 * (reason {@code retry}) events come from the worker engine's own log lines (a logback appender
 * reading the message arguments and the {@code sluice.msgId} MDC entry). The library does not log
 * grace NAKs of messages it does not handle, so the Java peer never prints {@code nak} with reason
 * {@code not-handled}. {@code processed} is printed when the handler returns (the library acks
 * right after).
 */
public final class JavaPeer {
  static final String DEFAULT_TYPE = "sluice.conformance.Work";
  private static final PrintStream OUT = System.out;
  private static final SecureRandom RANDOM = new SecureRandom();

  private JavaPeer() {}

  public static void main(String[] args) {
    if (args.length < 1) {
      fail("usage: JavaPeer worker|produce --server URL ...", 2);
    }
    Map<String, String> o;
    try {
      o = options(args);
    } catch (IllegalArgumentException e) {
      fail(e.getMessage(), 2);
      return;
    }
    try {
      switch (args[0]) {
        case "worker" -> worker(o);
        case "produce" -> produce(o);
        default -> fail("unknown role " + args[0], 2);
      }
    } catch (Exception e) {
      fail(e.toString(), 1);
    }
  }

  // ----------------------------------------------------------------------------------- worker

  private static void worker(Map<String, String> o) throws Exception {
    String server = required(o, "server");
    String queue = required(o, "queue");
    String id = required(o, "worker-id");
    int concurrency = intOpt(o, "concurrency", 4);
    int prefetch = intOpt(o, "prefetch", 4);
    int workMs = intOpt(o, "work-ms", 0);
    int maxAttempts = intOpt(o, "max-attempts", 3);
    int backoffMs = intOpt(o, "backoff-initial-ms", 100);
    long graceMs = intOpt(o, "grace-ms", 3000);
    long graceDelayMs = intOpt(o, "grace-delay-ms", 500);
    if (o.containsKey("capacity")) {
      // The library advertises concurrency + prefetch; a fixed capacity is reached through
      // prefetch (it also bounds the messages in hand, as capacity does).
      prefetch = Math.max(1, Integer.parseInt(o.get("capacity")) - concurrency);
    }
    // --token-batch is accepted for the contract; the Java worker reads the batch from the
    // queue's QueueSettings (the runner provisions the same value it passes to Go and Rust).
    int maxDeliveries =
        (int) Math.max(10, maxAttempts + (graceMs + graceDelayMs - 1) / graceDelayMs);

    Map<String, Long> attempts = new ConcurrentHashMap<>();
    AtomicLong processed = new AtomicLong();
    Connection nc = connect(server, "conformance-worker-" + id);
    installEventAppender(nc, queue, id, attempts);
    Worker.Builder b =
        Sluice.using(nc)
            .worker(queue)
            .workerId(id)
            .concurrency(concurrency)
            .prefetch(prefetch)
            .deadLetter(
                DeadLetterPolicy.builder()
                    .maxAttempts(maxAttempts)
                    .maxDeliveries(maxDeliveries)
                    .grace(Duration.ofMillis(graceMs))
                    .graceNakDelay(Duration.ofMillis(graceDelayMs))
                    .build())
            .backoff(
                Backoff.exponential(Duration.ofMillis(backoffMs), 2.0, Duration.ofSeconds(60), 0.2))
            .reconciler(Duration.ofSeconds(1));
    for (String spec : o.getOrDefault("handles", DEFAULT_TYPE + "@1-1").split(",")) {
      int at = spec.lastIndexOf('@');
      int dash = spec.indexOf('-', at);
      if (at <= 0 || dash < 0) {
        throw new IllegalArgumentException("--handles " + spec + ": want TYPE@MIN-MAX");
      }
      String type = spec.substring(0, at);
      int min = Integer.parseInt(spec.substring(at + 1, dash));
      int max = Integer.parseInt(spec.substring(dash + 1));
      for (int v = min; v <= max; v++) {
        b.handle(
            codec(type, v),
            (Work w, MessageContext ctx) -> {
              attempts.put(ctx.messageId(), ctx.attempt());
              if (workMs > 0) {
                Thread.sleep(workMs);
              }
              switch (w.behavior()) {
                case "poison" -> throw new RejectMessageException("poison message " + w.seq());
                case "fail-once" -> {
                  if (ctx.attempt() <= 1) {
                    throw new IllegalStateException("fail-once: failing delivery 1");
                  }
                }
                default -> {}
              }
              processed.incrementAndGet();
              emit(
                  Json.obj(
                      "event", "processed",
                      "id", id,
                      "msg_id", ctx.messageId(),
                      "seq", w.seq(),
                      "attempt", ctx.attempt(),
                      "trace_id", ctx.traceId(),
                      "type", ctx.type(),
                      "version", ctx.version(),
                      "lang", "java"));
            });
      }
    }
    CountDownLatch stop = new CountDownLatch(1);
    sun.misc.Signal.handle(new sun.misc.Signal("TERM"), s -> stop.countDown());
    sun.misc.Signal.handle(new sun.misc.Signal("INT"), s -> stop.countDown());
    Worker worker = b.start();
    emit(Json.obj("event", "ready", "role", "worker", "id", id, "lang", "java"));
    stop.await();
    worker.close();
    emit(Json.obj("event", "done", "id", id, "processed", processed.get()));
    nc.close();
    System.exit(0);
  }

  record Work(long seq, String behavior) {}

  private static Codec<Work> codec(String type, int version) {
    return Codec.of(
        type,
        version,
        "application/json",
        w -> body(w.seq(), w.behavior()),
        bytes -> {
          Map<String, Object> m = Json.parseObject(new String(bytes, StandardCharsets.UTF_8));
          if (!(m.get("seq") instanceof Long seq)) {
            throw new IllegalArgumentException("no integer seq");
          }
          Object behavior = m.getOrDefault("behavior", "ok");
          if (!"ok".equals(behavior)
              && !"poison".equals(behavior)
              && !"fail-once".equals(behavior)) {
            throw new IllegalArgumentException("unknown behavior " + behavior);
          }
          return new Work(seq, (String) behavior);
        });
  }

  static byte[] body(long seq, String behavior) {
    return Json.write(Json.obj("seq", seq, "behavior", behavior)).getBytes(StandardCharsets.UTF_8);
  }

  /** Turns the worker engine's dead-letter and retry log lines into events. */
  private static void installEventAppender(
      Connection nc, String queue, String workerId, Map<String, Long> attempts) {
    Logger engine = (Logger) LoggerFactory.getLogger("dev.sluice.internal.worker.Settler");
    engine.setLevel(Level.DEBUG);
    AppenderBase<ILoggingEvent> appender =
        new AppenderBase<>() {
          @Override
          protected void append(ILoggingEvent e) {
            String fmt = e.getMessage();
            Object[] a = e.getArgumentArray();
            if (fmt == null || a == null) {
              return;
            }
            if (fmt.startsWith("dead-lettered stream seq") && a.length >= 2) {
              String msgId = e.getMDCPropertyMap().get("sluice.msgId");
              if ("?".equals(msgId)) {
                msgId = null;
              }
              Object attempt = msgId == null ? null : attempts.get(msgId);
              // The engine logs after the record is stored: read the message id and delivery
              // count from the record (the MDC has no id when the headers were invalid).
              Headers rec = dlqRecord(nc, queue, ((Number) a[0]).longValue());
              if (rec != null) {
                msgId = rec.getFirst("Sluice-Dlq-Msg-Id");
                String k = rec.getFirst("Sluice-Dlq-Attempts");
                attempt = k == null ? attempt : Long.valueOf(k);
              }
              emit(
                  Json.obj(
                      "event",
                      "dead_lettered",
                      "id",
                      workerId,
                      "msg_id",
                      msgId,
                      "reason",
                      String.valueOf(a[1]),
                      "attempt",
                      attempt,
                      "lang",
                      "java"));
            } else if (fmt.startsWith("attempt {} of {} failed") && a.length >= 4) {
              Duration delay = (Duration) a[3];
              emit(
                  Json.obj(
                      "event",
                      "nak",
                      "id",
                      workerId,
                      "msg_id",
                      String.valueOf(a[1]),
                      "attempt",
                      a[0],
                      "delay_ms",
                      delay.toMillis(),
                      "reason",
                      "retry"));
            }
          }
        };
    appender.setContext(engine.getLoggerContext());
    appender.setName("conformance-events");
    appender.start();
    engine.addAppender(appender);
  }

  /** The headers of the dead-letter record of work stream sequence {@code seq}, or null. */
  private static Headers dlqRecord(Connection nc, String queue, long seq) {
    String subject = "sluice.dlq." + queue;
    String want = Long.toString(seq);
    try {
      JetStreamManagement jsm = nc.jetStreamManagement();
      MessageInfo last = jsm.getLastMessage("SLUICE_DLQ", subject);
      if (last != null && want.equals(last.getHeaders().getFirst("Sluice-Dlq-Stream-Seq"))) {
        return last.getHeaders();
      }
      // Several records at once: look a little further back.
      long from = last == null ? 1 : Math.max(1, last.getSeq() - 64);
      for (long s = from; ; ) {
        MessageInfo mi = jsm.getNextMessage("SLUICE_DLQ", s, subject);
        if (mi == null) {
          return null;
        }
        if (want.equals(mi.getHeaders().getFirst("Sluice-Dlq-Stream-Seq"))) {
          return mi.getHeaders();
        }
        s = mi.getSeq() + 1;
      }
    } catch (Exception e) {
      return null;
    }
  }

  // --------------------------------------------------------------------------------- producer

  private static void produce(Map<String, String> o) throws Exception {
    String server = required(o, "server");
    String queue = required(o, "queue");
    String id = required(o, "producer-id");
    int count = Integer.parseInt(required(o, "count"));
    String type = o.getOrDefault("type", DEFAULT_TYPE);
    int version = intOpt(o, "version", 1);
    long start = intOpt(o, "start", 0);
    String behavior = o.getOrDefault("behavior", "ok");
    long acquireMs = intOpt(o, "acquire-timeout-ms", 30_000);
    Connection nc = connect(server, "conformance-producer-" + id);
    int sent = 0;
    try (QueueProducer p =
        Sluice.using(nc)
            .producer(queue)
            .producerId(id)
            .acquireTimeout(Duration.ofMillis(acquireMs))
            .build()) {
      emit(Json.obj("event", "ready", "role", "producer", "id", id, "lang", "java"));
      for (long seq = start; seq < start + count; seq++) {
        String traceId = hex(16);
        SendResult r =
            p.send(
                OutgoingMessage.builder(type, version, body(seq, behavior))
                    .contentType("application/json")
                    .messageId(id + "-" + seq)
                    .traceparent("00-" + traceId + "-" + hex(8) + "-01")
                    .build());
        String[] tp = r.traceparent() == null ? new String[0] : r.traceparent().split("-");
        emit(
            Json.obj(
                "event",
                "sent",
                "id",
                id,
                "msg_id",
                r.messageId(),
                "seq",
                seq,
                "trace_id",
                tp.length == 4 ? tp[1] : traceId,
                "stream_seq",
                r.streamSequence()));
        sent++;
      }
    } catch (Exception e) {
      emit(Json.obj("event", "done", "id", id, "sent", sent));
      nc.close();
      fail(e.toString(), 1);
    }
    emit(Json.obj("event", "done", "id", id, "sent", sent));
    nc.close();
    System.exit(0);
  }

  // ---------------------------------------------------------------------------------- helpers

  static Connection connect(String url, String name) throws Exception {
    return Nats.connect(
        Options.builder()
            .server(url)
            .connectionName(name)
            .maxReconnects(-1)
            .errorListener(new QuietPullErrorListener())
            .build());
  }

  static synchronized void emit(Map<String, Object> event) {
    OUT.println(Json.write(event));
    OUT.flush();
  }

  private static String hex(int bytes) {
    byte[] b = new byte[bytes];
    do {
      RANDOM.nextBytes(b);
    } while (allZero(b));
    return HexFormat.of().formatHex(b);
  }

  private static boolean allZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> o = new HashMap<>();
    for (int k = 1; k < args.length; k++) {
      String a = args[k];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument " + a);
      }
      String key = a.substring(2);
      String value;
      int eq = key.indexOf('=');
      if (eq >= 0) {
        value = key.substring(eq + 1);
        key = key.substring(0, eq);
      } else {
        if (k + 1 >= args.length) {
          throw new IllegalArgumentException("--" + key + " needs a value");
        }
        value = args[++k];
      }
      o.put(key, value);
    }
    return o;
  }

  private static String required(Map<String, String> o, String key) {
    String v = o.get(key);
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException("--" + key + " is required");
    }
    return v;
  }

  private static int intOpt(Map<String, String> o, String key, int dflt) {
    String v = o.get(key);
    return v == null ? dflt : Integer.parseInt(v);
  }

  private static void fail(String message, int code) {
    String line = message == null ? "error" : message.split("\n", 2)[0];
    emit(Json.obj("event", "error", "message", line));
    System.err.println("sluice-peer-java: " + message);
    System.exit(code);
  }
}
