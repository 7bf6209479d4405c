package dev.sluice.conformance;

import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.WorkerState;
import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.KeyValue;
import io.nats.client.KeyValueOptions;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.KeyValueOperation;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StreamInfo;
import io.nats.client.api.StreamInfoOptions;
import io.nats.client.api.Subject;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The mixed-fleet conformance runner behind {@code scripts/conformance}: starts a real nats-server
 * on a free loopback port, provisions queues with the Java library, runs Java, Go and Rust peers as
 * separate processes through the {@code peers/README.md} contract, and checks what they did.
 *
 * <pre>
 * Runner [--json] --nats-server PATH --go PATH --rust PATH [--logs DIR] [--pid-file FILE]
 * </pre>
 *
 * Every check is attributed to the languages it exercises; the last stdout line with {@code --json}
 * is {@code {"peers": {"java": {"passed": N, "failed": M}, "go": {...}, "rust": {...}}}}. Exit
 * status 1 when any check failed, 2 when the run could not start.
 */
public final class Runner {
  static final List<String> LANGS = List.of("java", "go", "rust");
  static final String TYPE = JavaPeer.DEFAULT_TYPE;
  static final int BATCH = 8;
  static final Set<String> DLQ_HEADERS =
      Set.of(
          "Sluice-Dlq-Reason",
          "Sluice-Dlq-Error",
          "Sluice-Dlq-Attempts",
          "Sluice-Dlq-Stream",
          "Sluice-Dlq-Stream-Seq",
          "Sluice-Dlq-Subject",
          "Sluice-Dlq-Worker",
          "Sluice-Dlq-At",
          "Sluice-Dlq-Msg-Id");

  record Check(String scenario, String name, Set<String> langs, boolean ok, String detail) {}

  private final boolean json;
  private final String natsBin;
  private final String goBin;
  private final String rustBin;
  private final Path logs;
  private final Path pidFile;
  private final String only;
  private final List<Peer> peers = Collections.synchronizedList(new ArrayList<>());
  private final List<Check> checks = Collections.synchronizedList(new ArrayList<>());
  private final List<String> scenarioTimes = Collections.synchronizedList(new ArrayList<>());
  private Process server;
  private String url;
  private Connection nc;
  private JetStreamManagement jsm;
  private JetStream js;
  private Sluice sluice;

  private Runner(Map<String, String> o) throws IOException {
    this.json = o.containsKey("json");
    this.natsBin = need(o, "nats-server");
    this.goBin = need(o, "go");
    this.rustBin = need(o, "rust");
    this.logs =
        o.containsKey("logs")
            ? Files.createDirectories(Path.of(o.get("logs")))
            : Files.createTempDirectory("sluice-conformance-logs-");
    this.pidFile = o.containsKey("pid-file") ? Path.of(o.get("pid-file")) : null;
    this.only = o.get("only");
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> o = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--json")) {
        o.put("json", "true");
      } else if (a.startsWith("--") && i + 1 < args.length) {
        o.put(a.substring(2), args[++i]);
      } else {
        System.err.println("conformance: unexpected argument " + a);
        System.exit(2);
      }
    }
    Runner r;
    try {
      r = new Runner(o);
    } catch (IllegalArgumentException e) {
      System.err.println("conformance: " + e.getMessage());
      System.exit(2);
      return;
    }
    Thread hook = new Thread(r::cleanup, "conformance-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    int code;
    try {
      code = r.run();
    } catch (Exception e) {
      System.err.println("conformance: run aborted: " + e);
      e.printStackTrace();
      r.check("setup", "the run completed", LANGS, false, e.toString());
      r.report();
      code = 1;
    }
    r.cleanup();
    System.exit(code);
  }

  private static String need(Map<String, String> o, String k) {
    String v = o.get(k);
    if (v == null) {
      throw new IllegalArgumentException("--" + k + " is required");
    }
    return v;
  }

  // ------------------------------------------------------------------------------------ run

  private int run() throws Exception {
    long t0 = System.nanoTime();
    startServer();
    progress("nats-server " + url + "; peer logs in " + logs);
    timed("java-producer-mixed-workers", this::mixedWorkers);
    timed("go-rust-producers-java-workers", this::foreignProducers);
    timed("contention-and-credit-bound", this::contention);
    timed("poison-and-dead-letters", this::poison);
    timed("payload-versions", this::versions);
    progress(String.format("all scenarios in %.1f s", (System.nanoTime() - t0) / 1e9));
    return report();
  }

  private interface Scenario {
    void run() throws Exception;
  }

  private void timed(String name, Scenario s) {
    if (only != null && !name.contains(only)) {
      return;
    }
    long t = System.nanoTime();
    progress("scenario " + name);
    try {
      s.run();
    } catch (Exception e) {
      System.err.println("conformance: scenario " + name + " aborted: " + e);
      e.printStackTrace();
      check(name, "scenario completed", LANGS, false, e.toString());
    } finally {
      stopPeers();
    }
    scenarioTimes.add(String.format("%s %.1f s", name, (System.nanoTime() - t) / 1e9));
  }

  private void progress(String s) {
    System.err.println("conformance: " + s);
  }

  void check(String scenario, String name, Collection<String> langs, boolean ok, String detail) {
    Check c = new Check(scenario, name, new TreeSet<>(langs), ok, detail == null ? "" : detail);
    checks.add(c);
    if (!ok) {
      progress(
          "FAIL [" + String.join(",", c.langs()) + "] " + scenario + ": " + name + ": " + detail);
    }
  }

  // --------------------------------------------------------------------------------- server

  private void startServer() throws Exception {
    Path store = Files.createTempDirectory("sluice-conformance-js-");
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    ProcessBuilder pb =
        new ProcessBuilder(
            natsBin, "-js", "-sd", store.toString(), "-a", "127.0.0.1", "-p", String.valueOf(port));
    pb.redirectErrorStream(true);
    pb.redirectOutput(logs.resolve("nats-server.log").toFile());
    server = pb.start();
    if (pidFile != null) {
      Files.writeString(
          pidFile,
          server.pid() + "\n",
          java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    }
    url = "nats://127.0.0.1:" + port;
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (true) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        break;
      } catch (IOException e) {
        if (!server.isAlive() || System.nanoTime() > deadline) {
          throw new IOException(
              "nats-server did not start; see " + logs.resolve("nats-server.log"));
        }
        Thread.sleep(50);
      }
    }
    nc = JavaPeer.connect(url, "conformance-runner");
    jsm = nc.jetStreamManagement();
    js = nc.jetStream();
    sluice = Sluice.using(nc);
  }

  private synchronized void cleanup() {
    List<Peer> all;
    synchronized (peers) {
      all = new ArrayList<>(peers);
    }
    for (Peer p : all) {
      if (p.alive()) {
        p.kill();
      }
    }
    if (nc != null) {
      try {
        nc.close();
      } catch (Exception e) {
        // closing anyway
      }
      nc = null;
    }
    if (server != null && server.isAlive()) {
      server.destroy();
      try {
        if (!server.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
          server.destroyForcibly();
        }
      } catch (InterruptedException e) {
        server.destroyForcibly();
      }
    }
  }

  /** Stops every peer still running (SIGTERM, then SIGKILL after 25 s). */
  private void stopPeers() {
    List<Peer> all;
    synchronized (peers) {
      all = new ArrayList<>(peers);
    }
    for (Peer p : all) {
      if (p.alive()) {
        p.terminate();
      }
    }
    for (Peer p : all) {
      try {
        if (p.awaitExit(25_000) == null) {
          p.kill();
        }
      } catch (InterruptedException e) {
        p.kill();
      }
    }
  }

  // ---------------------------------------------------------------------------------- peers

  private List<String> base(String lang) {
    return switch (lang) {
      case "go" -> new ArrayList<>(List.of(goBin));
      case "rust" -> new ArrayList<>(List.of(rustBin));
      case "java" -> {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        yield new ArrayList<>(
            List.of(
                javaBin,
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Xmx256m",
                "-cp",
                System.getProperty("java.class.path"),
                JavaPeer.class.getName()));
      }
      default -> throw new IllegalArgumentException(lang);
    };
  }

  /** One queue, its peers and what each message should become. */
  final class Fleet {
    final String scenario;
    final String queue;
    final List<Peer> workers = new ArrayList<>();
    final List<Peer> producers = new ArrayList<>();
    final Map<Peer, String> behavior = new HashMap<>();
    final Map<Peer, Integer> counts = new HashMap<>();
    final Map<Peer, Integer> versions = new HashMap<>();
    final Map<String, String> workerHandles = new HashMap<>();

    /** Messages the runner published itself: msg id → expected dead-letter reason. */
    final Map<String, String> raw = new LinkedHashMap<>();

    Fleet(String scenario, String queue, int standingBuffer) {
      this.scenario = scenario;
      this.queue = queue;
      sluice.provision(
          QueueSpec.builder(queue).tokenBatch(BATCH).standingBuffer(standingBuffer).build());
    }

    /** Starts workers (all at once) and waits until each printed ready. */
    List<Peer> workers(List<List<String>> specs) throws Exception {
      List<Peer> started = new ArrayList<>();
      for (List<String> spec : specs) {
        String lang = spec.get(0);
        String id = spec.get(1);
        List<String> cmd = base(lang);
        cmd.addAll(
            List.of(
                "worker",
                "--server",
                url,
                "--queue",
                queue,
                "--worker-id",
                id,
                "--token-batch",
                String.valueOf(BATCH)));
        cmd.addAll(spec.subList(2, spec.size()));
        Peer p = new Peer(lang, "worker", id, cmd, logs, pidFile);
        peers.add(p);
        workers.add(p);
        started.add(p);
        int h = spec.indexOf("--handles");
        workerHandles.put(id, h >= 0 ? spec.get(h + 1) : TYPE + "@1-1");
      }
      for (Peer p : started) {
        boolean ready = p.awaitReady(40_000);
        check(
            scenario,
            p.lang + " worker " + p.id + " starts",
            List.of(p.lang),
            ready,
            ready ? "" : "no ready event; stderr: " + p.stderrTail(5));
        if (!ready) {
          throw new IllegalStateException(p + " did not start");
        }
      }
      return started;
    }

    Peer producer(String lang, String id, int count, String behav, int start, int version)
        throws IOException {
      List<String> cmd = base(lang);
      cmd.addAll(
          List.of(
              "produce",
              "--server",
              url,
              "--queue",
              queue,
              "--producer-id",
              id,
              "--count",
              String.valueOf(count),
              "--behavior",
              behav,
              "--start",
              String.valueOf(start),
              "--version",
              String.valueOf(version),
              "--acquire-timeout-ms",
              "60000"));
      Peer p = new Peer(lang, "producer", id, cmd, logs, pidFile);
      peers.add(p);
      producers.add(p);
      behavior.put(p, behav);
      counts.put(p, count);
      versions.put(p, version);
      return p;
    }

    /** Waits for producers to exit and checks each sent everything it was asked to. */
    void awaitProducers(Collection<Peer> ps, long timeoutMs) throws InterruptedException {
      long deadline = System.currentTimeMillis() + timeoutMs;
      for (Peer p : ps) {
        Integer code = p.awaitExit(Math.max(1, deadline - System.currentTimeMillis()));
        if (code == null) {
          p.kill();
        }
        int sent = p.events("sent").size();
        String report = kvState("sluice-control", "producer." + queue + "." + p.id);
        boolean ok = code != null && code == 0 && sent == counts.get(p) && report == null;
        check(
            scenario,
            p.lang
                + " producer "
                + p.id
                + " sends all "
                + counts.get(p)
                + ", exits 0, report deleted",
            List.of(p.lang),
            ok,
            ok
                ? ""
                : "exit "
                    + code
                    + ", sent "
                    + sent
                    + (report == null ? "" : ", report " + report)
                    + "; stderr: "
                    + p.stderrTail(3));
      }
    }

    Map<String, Peer.Event> sent() {
      Map<String, Peer.Event> m = new LinkedHashMap<>();
      for (Peer p : producers) {
        for (Peer.Event e : p.events("sent")) {
          m.put(e.str("msg_id"), e);
        }
      }
      return m;
    }

    Peer producerOf(String msgId) {
      for (Peer p : producers) {
        for (Peer.Event e : p.events("sent")) {
          if (msgId.equals(e.str("msg_id"))) {
            return p;
          }
        }
      }
      return null;
    }

    /** Waits until every sent or raw message has an outcome at some worker. */
    boolean awaitOutcomes(long timeoutMs) throws InterruptedException {
      long deadline = System.currentTimeMillis() + timeoutMs;
      while (true) {
        Set<String> want = new LinkedHashSet<>(sent().keySet());
        want.addAll(raw.keySet());
        for (Peer w : workers) {
          for (Peer.Event e : w.events("processed")) {
            want.remove(e.str("msg_id"));
          }
          for (Peer.Event e : w.events("dead_lettered")) {
            want.remove(e.str("msg_id"));
          }
        }
        if (want.isEmpty()) {
          return true;
        }
        if (System.currentTimeMillis() > deadline) {
          check(
              scenario,
              "every message reaches an outcome in time",
              langs(),
              false,
              want.size() + " without outcome, e.g. " + want.stream().limit(5).toList());
          return false;
        }
        Thread.sleep(100);
      }
    }

    Set<String> langs() {
      Set<String> s = new TreeSet<>();
      workers.forEach(w -> s.add(w.lang));
      producers.forEach(p -> s.add(p.lang));
      return s;
    }

    Set<String> workerLangs() {
      Set<String> s = new TreeSet<>();
      workers.forEach(w -> s.add(w.lang));
      return s;
    }

    /** SIGTERM to every worker: each must exit 0 after a clean shutdown. */
    void stopWorkers() throws InterruptedException {
      for (Peer w : workers) {
        w.terminate();
      }
      for (Peer w : workers) {
        Integer code = w.awaitExit(25_000);
        if (code == null) {
          w.kill();
        }
        boolean done = !w.events("done").isEmpty();
        String advert = kvState("sluice-capacity", queue + "." + w.id);
        check(
            scenario,
            w.lang
                + " worker "
                + w.id
                + " shuts down cleanly on SIGTERM (exit 0, done, advert deleted)",
            List.of(w.lang),
            code != null && code == 0 && done && advert == null,
            "exit "
                + code
                + (done ? "" : ", no done event")
                + (advert == null ? "" : ", advert " + advert));
      }
    }

    /** Every stored token of this queue: value, minter and reason, for failure details. */
    String tokenDump() {
      List<String> out = new ArrayList<>();
      try {
        String subject = "sluice.credit." + queue + ".>";
        long seq = 1;
        while (out.size() < 200) {
          MessageInfo mi;
          try {
            mi = jsm.getNextMessage("SLUICE_CREDITS", seq, subject);
          } catch (JetStreamApiException e) {
            break;
          }
          if (mi == null) {
            break;
          }
          String n = mi.getSubject().substring(mi.getSubject().lastIndexOf('.') + 1);
          String by = "?";
          try {
            var tok = dev.sluice.internal.proto.CreditToken.parseFrom(mi.getData());
            by = tok.getMintedBy() + "/" + tok.getReason();
          } catch (Exception e) {
            by = "unparsable";
          }
          out.add("#" + mi.getSeq() + " " + n + " by " + by);
          seq = mi.getSeq() + 1;
        }
      } catch (IOException e) {
        out.add(e.toString());
      }
      return String.join(", ", out);
    }

    /** Credits stored for this queue: T = Σ n × count(sluice.credit.q.n) (§5.3). */
    long tokens() throws IOException, JetStreamApiException {
      String filter = "sluice.credit." + queue + ".>";
      StreamInfo si = jsm.getStreamInfo("SLUICE_CREDITS", StreamInfoOptions.filterSubjects(filter));
      long t = 0;
      List<Subject> subjects = si.getStreamState().getSubjects();
      if (subjects != null) {
        for (Subject sub : subjects) {
          String n = sub.getName().substring(sub.getName().lastIndexOf('.') + 1);
          t += Long.parseLong(n) * sub.getCount();
        }
      }
      return t;
    }

    /** The standard checks: outcomes, exactly once, nothing lost, trace continuation. */
    void verify() throws Exception {
      Map<String, Peer.Event> sent = sent();
      Map<String, List<Peer.Event>> processed = new HashMap<>();
      Map<String, List<Peer.Event>> dead = new HashMap<>();
      Map<Peer.Event, Peer> by = new HashMap<>();
      for (Peer w : workers) {
        for (Peer.Event e : w.events("processed")) {
          processed.computeIfAbsent(e.str("msg_id"), k -> new ArrayList<>()).add(e);
          by.put(e, w);
        }
        for (Peer.Event e : w.events("dead_lettered")) {
          dead.computeIfAbsent(String.valueOf(e.str("msg_id")), k -> new ArrayList<>()).add(e);
          by.put(e, w);
        }
      }
      // None lost, per producer: every acknowledged send reached exactly one outcome.
      for (Peer p : producers) {
        List<String> bad = new ArrayList<>();
        String beh = behavior.get(p);
        for (Peer.Event s : p.events("sent")) {
          String id = s.str("msg_id");
          int np = processed.getOrDefault(id, List.of()).size();
          int nd = dead.getOrDefault(id, List.of()).size();
          boolean ok = beh.equals("poison") ? (np == 0 && nd == 1) : (np == 1 && nd == 0);
          if (!ok) {
            bad.add(id + " processed " + np + "x, dead-lettered " + nd + "x");
          }
          if (!id.equals(p.id + "-" + s.num("seq"))) {
            bad.add(id + ": msg_id is not <producer-id>-<seq>");
          }
        }
        Set<String> l = new TreeSet<>(workerLangs());
        l.add(p.lang);
        check(
            scenario,
            "every message from "
                + p.lang
                + " producer "
                + p.id
                + " ("
                + beh
                + ") settled exactly once, none lost",
            l,
            bad.isEmpty() && !p.events("sent").isEmpty(),
            summarize(bad));
      }
      // Per worker: what it did was right, and nothing it did was done again elsewhere.
      for (Peer w : workers) {
        List<String> bad = new ArrayList<>();
        for (Peer.Event e : w.events("processed")) {
          String id = e.str("msg_id");
          Peer.Event s = sent.get(id);
          if (s == null) {
            bad.add(id + ": processed but never sent");
            continue;
          }
          Peer p = producerOf(id);
          String beh = behavior.get(p);
          if (beh.equals("poison")) {
            bad.add(id + ": poison message processed");
          }
          if (beh.equals("fail-once") && e.num("attempt") < 2) {
            bad.add(id + ": fail-once processed at attempt " + e.num("attempt"));
          }
          if (processed.get(id).size() + dead.getOrDefault(id, List.of()).size() > 1) {
            bad.add(id + ": settled more than once");
          }
          if (!w.lang.equals(e.str("lang")) || !w.id.equals(e.str("id"))) {
            bad.add(id + ": event says lang " + e.str("lang") + " id " + e.str("id"));
          }
          if (e.num("version") != versions.get(p) || !TYPE.equals(e.str("type"))) {
            bad.add(id + ": type/version " + e.str("type") + "@" + e.num("version"));
          }
          if (e.num("seq") != s.num("seq")) {
            bad.add(id + ": seq " + e.num("seq") + " != sent " + s.num("seq"));
          }
        }
        for (Peer.Event e : w.events("dead_lettered")) {
          String id = e.str("msg_id");
          String want = raw.get(id);
          if (want == null && sent.containsKey(id)) {
            want =
                behavior.get(producerOf(id)).equals("poison") ? "rejected" : "(not dead-lettered)";
          }
          if (want == null || !want.equals(e.str("reason"))) {
            bad.add(id + ": dead-lettered " + e.str("reason") + ", expected " + want);
          }
        }
        check(
            scenario,
            w.lang + " worker " + w.id + " settled each message it took correctly and once",
            List.of(w.lang),
            bad.isEmpty(),
            summarize(bad));
      }
      // Trace continuation, per producer language → worker language.
      Map<String, List<String>> traceBad = new LinkedHashMap<>();
      Map<String, Integer> traceN = new LinkedHashMap<>();
      for (Peer w : workers) {
        for (Peer.Event e : w.events("processed")) {
          Peer.Event s = sent.get(e.str("msg_id"));
          if (s == null) {
            continue;
          }
          String pair = producerOf(e.str("msg_id")).lang + "->" + w.lang;
          traceN.merge(pair, 1, Integer::sum);
          List<String> bad = traceBad.computeIfAbsent(pair, k -> new ArrayList<>());
          String st = s.str("trace_id");
          if (st == null || !st.matches("[0-9a-f]{32}") || !st.equals(e.str("trace_id"))) {
            bad.add(e.str("msg_id") + ": sent " + st + ", processed " + e.str("trace_id"));
          }
        }
      }
      for (var en : traceBad.entrySet()) {
        String[] pl = en.getKey().split("->");
        check(
            scenario,
            "trace ids continue " + en.getKey() + " (" + traceN.get(en.getKey()) + " messages)",
            List.of(pl[0], pl[1]),
            en.getValue().isEmpty(),
            summarize(en.getValue()));
      }
      // The work stream is empty: everything acked or termed, nothing stuck.
      long left = workCount(queue);
      check(
          scenario,
          "work stream SLUICE_Q_" + queue + " empty at the end",
          langs(),
          left == 0,
          left + " messages left");
      // No garbage on stdout.
      for (Peer p : producersAndWorkers()) {
        List<String> junk = p.nonJsonLines();
        if (!junk.isEmpty()) {
          check(
              scenario,
              p + " prints only JSON lines on stdout",
              List.of(p.lang),
              false,
              summarize(junk));
        }
      }
    }

    List<Peer> producersAndWorkers() {
      List<Peer> l = new ArrayList<>(producers);
      l.addAll(workers);
      return l;
    }

    /** Each worker language took part (processed at least one message). */
    void requireEachWorkerProcessed() {
      for (Peer w : workers) {
        int n = w.events("processed").size();
        check(
            scenario,
            w.lang + " worker " + w.id + " processed messages (" + n + ")",
            List.of(w.lang),
            n > 0,
            "");
      }
    }
  }

  static String summarize(List<String> bad) {
    if (bad.isEmpty()) {
      return "";
    }
    return bad.size() + ": " + String.join("; ", bad.subList(0, Math.min(5, bad.size())));
  }

  /** Null when the key is absent or deleted, else a short description of the entry. */
  String kvState(String bucket, String key) {
    try {
      KeyValueEntry e = nc.keyValue(bucket).get(key);
      if (e == null || e.getOperation() != KeyValueOperation.PUT) {
        return null;
      }
      return "still present (revision " + e.getRevision() + ")";
    } catch (Exception ex) {
      return "unreadable: " + ex;
    }
  }

  long workCount(String queue) throws IOException, JetStreamApiException {
    return jsm.getStreamInfo("SLUICE_Q_" + queue).getStreamState().getMsgCount();
  }

  static List<String> w(String... a) {
    return List.of(a);
  }

  // ------------------------------------------------------------------------------- scenarios

  /** A Java producer (plus a fail-once one) with Go, Rust and Java workers on one queue. */
  private void mixedWorkers() throws Exception {
    Fleet f = new Fleet("java-producer-mixed-workers", "cf-mixed", 0);
    f.workers(
        List.of(
            w("go", "go-w1", "--work-ms", "10"),
            w("rust", "rust-w1", "--work-ms", "10"),
            w("java", "java-w1", "--work-ms", "10")));
    Peer p1 = f.producer("java", "java-p1", 90, "ok", 0, 1);
    Peer p2 = f.producer("java", "java-p2", 9, "fail-once", 0, 1);
    f.awaitProducers(List.of(p1, p2), 90_000);
    f.awaitOutcomes(30_000);
    Thread.sleep(300);
    f.stopWorkers();
    f.verify();
    f.requireEachWorkerProcessed();
  }

  /** Go and Rust producers, at once, with two Java workers. */
  private void foreignProducers() throws Exception {
    Fleet f = new Fleet("go-rust-producers-java-workers", "cf-foreign", 0);
    f.workers(
        List.of(w("java", "java-w1", "--work-ms", "5"), w("java", "java-w2", "--work-ms", "5")));
    Peer g = f.producer("go", "go-p1", 50, "ok", 0, 1);
    Peer r = f.producer("rust", "rust-p1", 50, "ok", 0, 1);
    Peer gf = f.producer("go", "go-p2", 5, "fail-once", 0, 1);
    Peer rf = f.producer("rust", "rust-p2", 5, "fail-once", 0, 1);
    f.awaitProducers(List.of(g, r, gf, rf), 90_000);
    f.awaitOutcomes(30_000);
    Thread.sleep(300);
    f.stopWorkers();
    f.verify();
    f.requireEachWorkerProcessed();
  }

  /**
   * Three producers of three languages contend for the credits of one small window while workers of
   * three languages drain slowly; the backlog is sampled all along: B ≤ W + slack (§5.6).
   */
  private void contention() throws Exception {
    String sc = "contention-and-credit-bound";
    Fleet f = new Fleet(sc, "cf-contend", 0);
    int conc = 2;
    int pre = 2;
    List<Peer> ws =
        f.workers(
            List.of(
                w("go", "go-w1", "--concurrency", "2", "--prefetch", "2", "--work-ms", "40"),
                w("rust", "rust-w1", "--concurrency", "2", "--prefetch", "2", "--work-ms", "40"),
                w("java", "java-w1", "--concurrency", "2", "--prefetch", "2", "--work-ms", "40")));
    int window = ws.size() * (conc + pre);
    int slack = ws.size() * (BATCH - 1);
    // Adverts (§5.2): each worker advertises concurrency + prefetch, RUNNING, live.
    KeyValue cap = nc.keyValue("sluice-capacity", KeyValueOptions.builder().build());
    Thread.sleep(300);
    for (Peer p : ws) {
      KeyValueEntry e = cap.get(f.queue + "." + p.id);
      String detail;
      boolean ok;
      if (e == null || e.getValue() == null) {
        ok = false;
        detail = "no advert at " + f.queue + "." + p.id;
      } else {
        CapacityAdvert a = CapacityAdvert.parseFrom(e.getValue());
        long now = System.currentTimeMillis();
        ok =
            a.getCapacity() == conc + pre
                && a.getState() == WorkerState.WORKER_STATE_RUNNING
                && a.getHeartbeatUnixMs() + a.getTtlMs() >= now
                && a.getWorkerId().equals(p.id)
                && a.getHandledList().stream()
                    .anyMatch(h -> h.getType().equals(TYPE) && h.getMinVersion() == 1);
        detail =
            "capacity "
                + a.getCapacity()
                + ", state "
                + a.getState()
                + ", ttl "
                + a.getTtlMs()
                + ", language "
                + a.getLanguage()
                + ", token_batch "
                + a.getTokenBatch();
      }
      check(
          sc,
          p.lang + " worker advertises capacity concurrency+prefetch, RUNNING, live",
          List.of(p.lang),
          ok,
          detail);
    }
    AtomicBoolean sampling = new AtomicBoolean(true);
    AtomicLong maxB = new AtomicLong();
    AtomicLong samples = new AtomicLong();
    Thread sampler =
        new Thread(
            () -> {
              while (sampling.get()) {
                try {
                  long b = workCount(f.queue);
                  maxB.accumulateAndGet(b, Math::max);
                  samples.incrementAndGet();
                  Thread.sleep(15);
                } catch (InterruptedException e) {
                  return;
                } catch (Exception e) {
                  // a missed sample
                }
              }
            },
            "backlog-sampler");
    sampler.setDaemon(true);
    sampler.start();
    int n = 80;
    Peer pj = f.producer("java", "java-p1", n, "ok", 0, 1);
    Peer pg = f.producer("go", "go-p1", n, "ok", 0, 1);
    Peer pr = f.producer("rust", "rust-p1", n, "ok", 0, 1);
    List<Peer> ps = List.of(pj, pg, pr);
    f.awaitProducers(ps, 120_000);
    sampling.set(false);
    sampler.join(2000);
    f.awaitOutcomes(30_000);
    // The three producers were sending at the same time.
    // The three producers were sending at the same time, and while all three were, each got a
    // share of the credits.
    long latestFirst = Long.MIN_VALUE;
    long earliestLast = Long.MAX_VALUE;
    long t0 = Long.MAX_VALUE;
    for (Peer p : ps) {
      List<Peer.Event> s = p.events("sent");
      if (s.isEmpty()) {
        continue;
      }
      t0 = Math.min(t0, s.get(0).nanos());
      latestFirst = Math.max(latestFirst, s.get(0).nanos());
      earliestLast = Math.min(earliestLast, s.get(s.size() - 1).nanos());
    }
    StringBuilder spans = new StringBuilder();
    boolean shared = latestFirst < earliestLast;
    for (Peer p : ps) {
      List<Peer.Event> s = p.events("sent");
      if (s.isEmpty()) {
        shared = false;
        continue;
      }
      final long lo = latestFirst;
      final long hi = earliestLast;
      long inOverlap = s.stream().filter(e -> e.nanos() >= lo && e.nanos() <= hi).count();
      spans.append(
          String.format(
              "%s sent %.2f-%.2f s, %d while all sent; ",
              p.lang,
              (s.get(0).nanos() - t0) / 1e9,
              (s.get(s.size() - 1).nanos() - t0) / 1e9,
              inOverlap));
      shared &= inOverlap >= 3;
    }
    check(
        sc,
        "java, go and rust producers sent concurrently, each getting credits (>= 3 sends while all"
            + " three were sending)",
        LANGS,
        shared,
        spans + String.format("overlap %.2f s", (earliestLast - latestFirst) / 1e9));
    Set<String> all = new TreeSet<>(LANGS);
    check(
        sc,
        String.format(
            "credit bound: max backlog %d <= W %d + slack %d (%d samples)",
            maxB.get(), window, slack, samples.get()),
        all,
        maxB.get() <= window + slack && samples.get() > 10,
        "");
    boolean filled = maxB.get() >= window / 2;
    check(
        sc,
        "the backlog filled the window (producers really waited for credits)",
        all,
        filled,
        "max backlog " + maxB.get() + ", W " + window);
    Thread.sleep(300);
    f.stopWorkers();
    f.verify();
    f.requireEachWorkerProcessed();
  }

  /**
   * Each language's worker alone on its own queue (standing buffer = its capacity, since Go and
   * Rust run no reconciler), fed by a producer of another language plus malformed messages the
   * runner publishes itself; then the dead-letter records are read from SLUICE_DLQ directly.
   */
  private void poison() throws Exception {
    String sc = "poison-and-dead-letters";
    Map<String, String> producerFor = Map.of("go", "rust", "rust", "java", "java", "go");
    Map<String, Fleet> fleets = new LinkedHashMap<>();
    long startMs = System.currentTimeMillis();
    for (String lang : LANGS) {
      Fleet f = new Fleet(sc, "cf-poison-" + lang, 8);
      fleets.put(lang, f);
    }
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<Void>> futures = new ArrayList<>();
      for (String lang : LANGS) {
        Fleet f = fleets.get(lang);
        String pl = producerFor.get(lang);
        futures.add(
            pool.submit(
                (Callable<Void>)
                    () -> {
                      f.workers(List.of(w(lang, lang + "-solo")));
                      for (String[] b :
                          new String[][] {{"ok", "4"}, {"poison", "3"}, {"fail-once", "2"}}) {
                        Peer p =
                            f.producer(pl, pl + "-" + b[0], Integer.parseInt(b[1]), b[0], 0, 1);
                        f.awaitProducers(List.of(p), 60_000);
                      }
                      publishRaw(f);
                      f.awaitOutcomes(30_000);
                      return null;
                    }));
      }
      for (Future<Void> fu : futures) {
        fu.get();
      }
    } finally {
      pool.shutdownNow();
    }
    Thread.sleep(300);
    for (Fleet f : fleets.values()) {
      f.stopWorkers();
    }
    // Credit conservation (§5.4, §6.7): with producers closed and workers shut down, the queue
    // holds its standing buffer plus one credit per raw message (they were published without a
    // credit, and each finished one was replenished). Go and Rust run no reconciler, so any leak
    // or duplicate of theirs stays visible; a Java reconciler may have burned the raw surplus.
    for (var en : fleets.entrySet()) {
      Fleet f = en.getValue();
      long want = 8 + f.raw.size();
      long t = -1;
      for (int i = 0; i < 20; i++) {
        t = f.tokens();
        if (t == want) {
          break;
        }
        Thread.sleep(100);
      }
      boolean java = en.getKey().equals("java");
      boolean ok = java ? (t >= 8 && t <= want) : t == want;
      Set<String> l = new TreeSet<>(f.langs());
      check(
          sc,
          en.getKey()
              + " worker with "
              + String.join("+", f.producers.stream().map(p -> p.lang).distinct().toList())
              + " producers conserves credits (tokens after the run "
              + (java ? "in [8, " + want + "]" : "= " + want)
              + ")",
          l,
          ok,
          "tokens " + t + (ok ? "" : "; stored: " + f.tokenDump()));
    }
    for (Fleet f : fleets.values()) {
      f.verify();
    }
    // The records themselves.
    Map<String, Map<String, Set<String>>> namesByReason = new TreeMap<>();
    for (String lang : LANGS) {
      Fleet f = fleets.get(lang);
      Peer worker = f.workers.get(0);
      List<MessageInfo> records = dlq(f.queue);
      Map<String, List<MessageInfo>> byMsgId = new HashMap<>();
      for (MessageInfo mi : records) {
        String id = first(mi.getHeaders(), "Sluice-Dlq-Msg-Id");
        byMsgId.computeIfAbsent(String.valueOf(id), k -> new ArrayList<>()).add(mi);
      }
      // Expected: the producer's poison messages (rejected) and the raw ones.
      Map<String, String> expected = new LinkedHashMap<>();
      Map<String, Peer.Event> sent = f.sent();
      for (Peer p : f.producers) {
        if (f.behavior.get(p).equals("poison")) {
          for (Peer.Event e : p.events("sent")) {
            expected.put(e.str("msg_id"), "rejected");
          }
        }
      }
      expected.putAll(f.raw);
      Set<String> unexpected = new TreeSet<>(byMsgId.keySet());
      unexpected.removeAll(expected.keySet());
      check(
          sc,
          lang + " worker: no dead-letter records beyond the expected ones",
          List.of(lang),
          unexpected.isEmpty(),
          "unexpected: " + unexpected);
      for (var en : expected.entrySet()) {
        String id = en.getKey();
        String reason = en.getValue();
        List<MessageInfo> recs = byMsgId.getOrDefault(id, List.of());
        List<String> bad = new ArrayList<>();
        if (recs.size() != 1) {
          bad.add(recs.size() + " records");
        }
        for (MessageInfo mi : recs) {
          bad.addAll(checkRecord(mi, f, worker, id, reason, sent.get(id), startMs));
          if (!sent.containsKey(id) || reason.equals("rejected")) {
            namesByReason
                .computeIfAbsent(reason, k -> new TreeMap<>())
                .put(lang, headerNames(mi.getHeaders(), !f.raw.containsKey(id)));
          }
        }
        check(
            sc,
            lang
                + " worker dead-letters "
                + kind(id)
                + " as "
                + reason
                + ": one record, §8.1 headers and values, original kept",
            List.of(lang),
            bad.isEmpty(),
            summarize(bad));
      }
      // fail-once: the first delivery NAKed with the §7.3 back-off, the second processed.
      List<String> bad = new ArrayList<>();
      for (Peer p : f.producers) {
        if (!f.behavior.get(p).equals("fail-once")) {
          continue;
        }
        for (Peer.Event s : p.events("sent")) {
          String id = s.str("msg_id");
          List<Peer.Event> naks =
              worker.events("nak").stream().filter(e -> id.equals(e.str("msg_id"))).toList();
          if (naks.size() != 1) {
            bad.add(id + ": " + naks.size() + " nak events");
          } else {
            Peer.Event k = naks.get(0);
            long d = k.num("delay_ms");
            if (!"retry".equals(k.str("reason")) || k.num("attempt") != 1 || d < 79 || d > 120) {
              bad.add(id + ": nak " + k.fields());
            }
          }
        }
      }
      check(
          sc,
          lang + " worker retries a failed attempt with NAK + §7.3 back-off (80-120 ms)",
          List.of(lang),
          bad.isEmpty(),
          summarize(bad));
    }
    // The same header names and reason codes in every language.
    for (var en : namesByReason.entrySet()) {
      Map<String, Set<String>> perLang = en.getValue();
      boolean same = perLang.size() == 3 && new LinkedHashSet<>(perLang.values()).size() == 1;
      String detail = "";
      if (!same) {
        Set<String> union = new TreeSet<>();
        perLang.values().forEach(union::addAll);
        StringBuilder b = new StringBuilder();
        for (String l : LANGS) {
          Set<String> miss = new TreeSet<>(union);
          miss.removeAll(perLang.getOrDefault(l, Set.of()));
          if (!miss.isEmpty() || !perLang.containsKey(l)) {
            b.append(l)
                .append(" lacks ")
                .append(perLang.containsKey(l) ? miss : "the record")
                .append("; ");
          }
        }
        detail = b.toString();
      }
      check(
          sc,
          "dead-letter records for "
              + en.getKey()
              + " carry the same header names in java, go and rust",
          LANGS,
          same,
          detail);
    }
  }

  private static String kind(String id) {
    return id.startsWith("raw-") ? "a raw message (" + id + ")" : "a poison message";
  }

  /**
   * Header names of a record: the Sluice-Dlq-* ones and Nats-Msg-Id, plus (for messages the runner
   * published, identical in every language) every original header.
   */
  private static Set<String> headerNames(Headers h, boolean dlqOnly) {
    Set<String> s = new TreeSet<>();
    for (String k : h.keySet()) {
      if (!dlqOnly || k.startsWith("Sluice-Dlq-") || k.equals("Nats-Msg-Id")) {
        s.add(k);
      }
    }
    return s;
  }

  private List<String> checkRecord(
      MessageInfo mi,
      Fleet f,
      Peer worker,
      String id,
      String reason,
      Peer.Event sentEvent,
      long startMs) {
    List<String> bad = new ArrayList<>();
    Headers h = mi.getHeaders();
    Set<String> dlqNames =
        h.keySet().stream().filter(k -> k.startsWith("Sluice-Dlq-")).collect(Collectors.toSet());
    if (!dlqNames.equals(DLQ_HEADERS)) {
      Set<String> miss = new TreeSet<>(DLQ_HEADERS);
      miss.removeAll(dlqNames);
      Set<String> extra = new TreeSet<>(dlqNames);
      extra.removeAll(DLQ_HEADERS);
      bad.add("Sluice-Dlq-* names: missing " + miss + ", extra " + extra);
    }
    String stream = "SLUICE_Q_" + f.queue;
    expectHeader(bad, h, "Sluice-Dlq-Reason", reason);
    expectHeader(bad, h, "Sluice-Dlq-Stream", stream);
    expectHeader(bad, h, "Sluice-Dlq-Subject", "sluice.q." + f.queue);
    expectHeader(bad, h, "Sluice-Dlq-Worker", worker.id);
    String seq = first(h, "Sluice-Dlq-Stream-Seq");
    if (seq == null || !seq.matches("[1-9][0-9]*")) {
      bad.add("Sluice-Dlq-Stream-Seq " + seq);
    } else {
      expectHeader(bad, h, "Nats-Msg-Id", "dlq." + stream + "." + seq);
    }
    String attempts = first(h, "Sluice-Dlq-Attempts");
    if (attempts == null || !attempts.matches("[1-9][0-9]*")) {
      bad.add("Sluice-Dlq-Attempts " + attempts);
    } else if (reason.equals("rejected")
        || reason.endsWith("header")
        || reason.equals("decode-error")) {
      if (!attempts.equals("1")) {
        bad.add("Sluice-Dlq-Attempts " + attempts + " (expected 1: dead-lettered at once)");
      }
    }
    String at = first(h, "Sluice-Dlq-At");
    if (at == null
        || !at.matches("[1-9][0-9]*")
        || Long.parseLong(at) < startMs - 5000
        || Long.parseLong(at) > System.currentTimeMillis() + 5000) {
      bad.add("Sluice-Dlq-At " + at);
    }
    String err = first(h, "Sluice-Dlq-Error");
    if (err == null || err.isEmpty() || err.length() > 1024) {
      bad.add("Sluice-Dlq-Error " + err);
    }
    for (String k : h.keySet()) {
      if (k.startsWith("Nats-Expected-")) {
        bad.add(k + " kept (§8.1 drops publish preconditions)");
      }
    }
    // The original message: headers and body.
    if (sentEvent != null) {
      String tp = first(h, "traceparent");
      if (tp == null || !tp.contains("-" + sentEvent.str("trace_id") + "-")) {
        bad.add("traceparent " + tp + " does not carry the sent trace id");
      }
      expectHeader(bad, h, "Sluice-Type", TYPE);
      expectHeader(bad, h, "Sluice-Protocol", "1");
      try {
        Map<String, Object> body =
            Json.parseObject(new String(mi.getData(), StandardCharsets.UTF_8));
        if (!(body.get("seq") instanceof Long s) || s != sentEvent.num("seq")) {
          bad.add("body seq " + body.get("seq"));
        }
      } catch (RuntimeException e) {
        bad.add("body is not the original JSON: " + e.getMessage());
      }
    } else {
      RawMessage r = RAW.get(rawKind(id));
      if (r != null) {
        Headers orig = r.headers(f.queue, id);
        for (String k : orig.keySet()) {
          if (k.startsWith("Nats-")) {
            continue;
          }
          if (!orig.get(k).equals(h.get(k))) {
            bad.add("original header " + k + " " + orig.get(k) + " became " + h.get(k));
          }
        }
        if (!Arrays.equals(r.body(), mi.getData())) {
          bad.add("body changed");
        }
      }
    }
    // The worker said so too.
    List<Peer.Event> evs =
        worker.events("dead_lettered").stream().filter(e -> id.equals(e.str("msg_id"))).toList();
    if (evs.size() != 1 || !reason.equals(evs.get(0).str("reason"))) {
      bad.add("dead_lettered events: " + evs.stream().map(Peer.Event::fields).toList());
    }
    return bad;
  }

  private static void expectHeader(List<String> bad, Headers h, String name, String want) {
    String got = first(h, name);
    if (!want.equals(got)) {
      bad.add(name + " " + got + " (expected " + want + ")");
    }
  }

  static String first(Headers h, String name) {
    if (h == null) {
      return null;
    }
    List<String> v = h.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  private List<MessageInfo> dlq(String queue) throws IOException {
    List<MessageInfo> out = new ArrayList<>();
    long seq = 1;
    while (true) {
      MessageInfo mi;
      try {
        mi = jsm.getNextMessage("SLUICE_DLQ", seq, "sluice.dlq." + queue);
      } catch (JetStreamApiException e) {
        break; // no more
      }
      if (mi == null) {
        break;
      }
      out.add(mi);
      seq = mi.getSeq() + 1;
    }
    return out;
  }

  /** A malformed (or unhandled) message the runner publishes itself. */
  record RawMessage(String reason, Map<String, String> overrides, byte[] body) {
    Headers headers(String queue, String id) {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("Nats-Msg-Id", id);
      m.put("Sluice-Protocol", "1");
      m.put("Sluice-Type", TYPE);
      m.put("Sluice-Type-Version", "1");
      m.put("Content-Type", "application/json");
      m.put("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
      m.put("X-Conformance", "kept");
      for (var e : overrides.entrySet()) {
        if (e.getValue() == null) {
          m.remove(e.getKey());
        } else {
          m.put(e.getKey(), e.getValue().replace("<q>", queue));
        }
      }
      Headers h = new Headers();
      m.forEach(h::add);
      return h;
    }
  }

  static final Map<String, RawMessage> RAW = rawMessages();

  private static Map<String, RawMessage> rawMessages() {
    byte[] ok = JavaPeer.body(7, "ok");
    Map<String, RawMessage> m = new LinkedHashMap<>();
    Map<String, String> missing = new HashMap<>();
    missing.put("Sluice-Type", null);
    m.put("missing", new RawMessage("missing-header", missing, ok));
    m.put("bad", new RawMessage("bad-header", Map.of("Sluice-Type-Version", "01"), ok));
    m.put(
        "decode",
        new RawMessage(
            "decode-error",
            Map.of("Nats-Expected-Stream", "SLUICE_Q_<q>"),
            "not json".getBytes(StandardCharsets.UTF_8)));
    m.put("version", new RawMessage("unsupported-version", Map.of("Sluice-Type-Version", "9"), ok));
    m.put(
        "type",
        new RawMessage("unknown-type", Map.of("Sluice-Type", "sluice.conformance.Unknown"), ok));
    return m;
  }

  private static String rawKind(String id) {
    // raw-<kind>-<queue>
    String[] parts = id.split("-", 3);
    return parts.length == 3 ? parts[1] : "";
  }

  private void publishRaw(Fleet f) throws Exception {
    for (var e : RAW.entrySet()) {
      String id = "raw-" + e.getKey() + "-" + f.queue;
      js.publish(
          NatsMessage.builder()
              .subject("sluice.q." + f.queue)
              .headers(e.getValue().headers(f.queue, id))
              .data(e.getValue().body())
              .build());
      f.raw.put(id, e.getValue().reason());
    }
  }

  /**
   * Workers that handle only v1 leave v2 messages to workers that handle v1-2, which must process
   * every one of them; nothing is dead-lettered. Two queues at once, so each language is both a
   * decliner and a handler.
   */
  private void versions() throws Exception {
    String sc = "payload-versions";
    String v1 = TYPE + "@1-1";
    String v12 = TYPE + "@1-2";
    // A long grace with short NAK delays, so a v2 message bounces between decliners until a v1-2
    // worker takes it, rather than reaching unsupported-version by chance.
    String[] grace = {"--grace-ms", "30000", "--grace-delay-ms", "200", "--work-ms", "10"};
    Fleet a = new Fleet(sc, "cf-versions-a", 0);
    Fleet b = new Fleet(sc, "cf-versions-b", 0);
    List<List<String>> wa = new ArrayList<>();
    wa.add(concat(w("go", "go-v1", "--handles", v1), grace));
    wa.add(concat(w("java", "java-v1", "--handles", v1), grace));
    wa.add(concat(w("rust", "rust-v12", "--handles", v12), grace));
    List<List<String>> wb = new ArrayList<>();
    wb.add(concat(w("rust", "rust-v1", "--handles", v1), grace));
    wb.add(concat(w("java", "java-v12", "--handles", v12), grace));
    wb.add(concat(w("go", "go-v12", "--handles", v12), grace));
    a.workers(wa);
    b.workers(wb);
    List<Peer> pa =
        List.of(
            a.producer("rust", "rust-v2", 20, "ok", 0, 2),
            a.producer("go", "go-v1", 10, "ok", 0, 1));
    List<Peer> pb =
        List.of(
            b.producer("java", "java-v2", 20, "ok", 0, 2),
            b.producer("rust", "rust-v1", 10, "ok", 0, 1));
    a.awaitProducers(pa, 90_000);
    b.awaitProducers(pb, 90_000);
    a.awaitOutcomes(40_000);
    b.awaitOutcomes(40_000);
    Thread.sleep(300);
    a.stopWorkers();
    b.stopWorkers();
    for (Fleet f : List.of(a, b)) {
      // Every worker keeps 5 s pull requests and the server hands each redelivery to the
      // oldest waiting one, so the v1-2 worker's requests reach the head after a few declines:
      // each v2 message must be processed well within the 30 s grace period.
      Map<String, Long> sentAt = new HashMap<>();
      for (Peer p : f.producers) {
        for (Peer.Event e : p.events("sent")) {
          sentAt.put(e.str("msg_id"), e.nanos());
        }
      }
      List<String> late = new ArrayList<>();
      long worst = 0;
      for (Peer wk : f.workers) {
        for (Peer.Event e : wk.events("processed")) {
          Long at = sentAt.get(e.str("msg_id"));
          if (e.num("version") != 2 || at == null) {
            continue;
          }
          long ms = (e.nanos() - at) / 1_000_000;
          worst = Math.max(worst, ms);
          if (ms >= 30_000) {
            late.add(e.str("msg_id") + " after " + ms + " ms (attempt " + e.num("attempt") + ")");
          }
        }
      }
      Set<String> langs = new TreeSet<>();
      f.workers.forEach(wk -> langs.add(wk.lang));
      check(
          sc,
          f.queue
              + ": every v2 message processed within the grace period (slowest "
              + worst
              + " ms)",
          langs,
          late.isEmpty(),
          summarize(late));
    }
    // Queue C: a grace period of 1 ms, so every decline happens after it. Three decliners (one
    // per language) and one v1-2 worker: §4.2 says a decliner keeps NAKing while another live
    // advert handles the version, and §7.2 step 3 lets deliveries past max_deliveries (10)
    // through in such a mixed fleet, so nothing may be dead-lettered.
    String[] noGrace = {"--grace-ms", "1", "--grace-delay-ms", "100", "--work-ms", "10"};
    Fleet c = new Fleet(sc, "cf-versions-c", 0);
    List<List<String>> wc = new ArrayList<>();
    wc.add(concat(w("go", "go-v1c", "--handles", v1), noGrace));
    wc.add(concat(w("rust", "rust-v1c", "--handles", v1), noGrace));
    wc.add(concat(w("java", "java-v1c", "--handles", v1), noGrace));
    wc.add(concat(w("java", "java-v12c", "--handles", v12), noGrace));
    c.workers(wc);
    List<Peer> pc = List.of(c.producer("go", "go-v2c", 12, "ok", 0, 2));
    c.awaitProducers(pc, 90_000);
    c.awaitOutcomes(40_000);
    Thread.sleep(300);
    c.stopWorkers();
    {
      Map<String, Integer> after = new TreeMap<>();
      int maxAttempt = 0;
      for (Peer wk : c.workers) {
        for (Peer.Event e : wk.events("nak")) {
          if ("not-handled".equals(e.str("reason"))) {
            after.merge(wk.lang, 1, Integer::sum);
          }
        }
        for (Peer.Event e : wk.events("processed")) {
          maxAttempt = Math.max(maxAttempt, (int) e.num("attempt"));
        }
      }
      int declined = after.values().stream().mapToInt(Integer::intValue).sum();
      check(
          sc,
          c.queue + ": decliners NAKed after the grace period (the §4.2 rule was exercised)",
          List.of("go", "rust"),
          declined > 0,
          "not-handled naks after grace " + after + "; latest processing attempt " + maxAttempt);
    }
    for (Fleet f : List.of(a, b, c)) {
      f.verify();
      Set<String> all = new TreeSet<>();
      List<String> bad = new ArrayList<>();
      Map<String, Integer> v2By = new TreeMap<>();
      for (Peer wk : f.workers) {
        boolean handlesV2 = f.workerHandles.get(wk.id).endsWith("@1-2");
        all.add(wk.lang);
        for (Peer.Event e : wk.events("processed")) {
          if (e.num("version") == 2) {
            v2By.merge(wk.lang, 1, Integer::sum);
            if (!handlesV2) {
              bad.add(wk.lang + " v1-only worker processed v2 " + e.str("msg_id"));
            }
          }
        }
        for (Peer.Event e : wk.events("dead_lettered")) {
          bad.add(wk.lang + " dead-lettered " + e.str("msg_id") + " " + e.str("reason"));
        }
      }
      int dlq = dlq(f.queue).size();
      if (dlq > 0) {
        bad.add(dlq + " records in SLUICE_DLQ for " + f.queue);
      }
      int v2sent = 0;
      for (Peer p : f.producers) {
        if (f.versions.get(p) == 2) {
          v2sent += p.events("sent").size();
        }
      }
      int v2done = v2By.values().stream().mapToInt(Integer::intValue).sum();
      if (v2done != v2sent) {
        bad.add("v2 sent " + v2sent + ", processed " + v2done);
      }
      for (Peer wk : f.workers) {
        if (!f.workerHandles.get(wk.id).endsWith("@1-2")) {
          long nh =
              wk.events("nak").stream().filter(e -> "not-handled".equals(e.str("reason"))).count();
          v2By.merge(wk.lang + " declined (nak events)", (int) nh, Integer::sum);
        }
      }
      check(
          sc,
          f.queue + ": v2 messages processed only by v1-2 workers, none dead-lettered",
          all,
          bad.isEmpty(),
          summarize(bad) + " " + v2By);
    }
  }

  private static List<String> concat(List<String> a, String... more) {
    return Stream.concat(a.stream(), Arrays.stream(more)).toList();
  }

  // --------------------------------------------------------------------------------- report

  private int report() {
    Map<String, int[]> per = new LinkedHashMap<>();
    for (String l : LANGS) {
      per.put(l, new int[2]);
    }
    List<Check> all;
    synchronized (checks) {
      all = new ArrayList<>(checks);
    }
    for (Check c : all) {
      for (String l : c.langs()) {
        per.computeIfAbsent(l, k -> new int[2])[c.ok() ? 0 : 1]++;
      }
    }
    boolean failed = all.stream().anyMatch(c -> !c.ok());
    if (json) {
      for (Check c : all) {
        System.out.println(
            Json.write(
                Json.obj(
                    "scenario", c.scenario(),
                    "check", c.name(),
                    "peers", new ArrayList<>(c.langs()),
                    "passed", c.ok(),
                    "detail", c.detail())));
      }
    } else {
      String scenario = null;
      for (Check c : all) {
        if (!c.scenario().equals(scenario)) {
          scenario = c.scenario();
          System.out.println();
          System.out.println("== " + scenario);
        }
        System.out.printf(
            "  %s [%s] %s%s%n",
            c.ok() ? "PASS" : "FAIL",
            String.join(",", c.langs()),
            c.name(),
            c.ok() || c.detail().isEmpty() ? "" : "\n         " + c.detail());
      }
      System.out.println();
      System.out.println("scenario times: " + String.join(", ", scenarioTimes));
      System.out.println("peer logs: " + logs);
      System.out.println();
      for (var e : per.entrySet()) {
        System.out.printf(
            "%-5s passed %3d  failed %3d%n", e.getKey(), e.getValue()[0], e.getValue()[1]);
      }
      System.out.println(failed ? "CONFORMANCE FAILED" : "CONFORMANCE PASSED");
    }
    Map<String, Object> peersJson = new LinkedHashMap<>();
    for (var e : per.entrySet()) {
      peersJson.put(e.getKey(), Json.obj("passed", e.getValue()[0], "failed", e.getValue()[1]));
    }
    String last = Json.write(Json.obj("peers", peersJson));
    if (json) {
      System.out.println(last);
    } else {
      System.err.println(last);
    }
    System.out.flush();
    return failed ? 1 : 0;
  }
}
