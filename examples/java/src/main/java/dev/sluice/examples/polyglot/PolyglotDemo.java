package dev.sluice.examples.polyglot;

import dev.sluice.QueueSpec;
import dev.sluice.QuietPullErrorListener;
import dev.sluice.Sluice;
import dev.sluice.WorkerAdvert;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The program behind {@code scripts/demo --polyglot}: one queue, one producer and workers written
 * in different languages, each its own process. It provisions the queue, starts the workers, waits
 * for their capacity adverts, starts the producer, samples the backlog every 100 ms through the
 * Java library's read model, waits until every order has an outcome, stops the workers with SIGTERM
 * and prints a summary that accounts for every order (and, with {@code --json}, the JSON summary as
 * the last stdout line).
 *
 * <p>The programs are given as {@code LANG:DIALECT:COMMAND} (see {@link MemberSpec}), so the same
 * code runs the orders example (Go producer, Rust and Java workers) and its stand-ins, the
 * conformance peers. Exit status: 0 every order accounted for within the bound; 1 an order was
 * lost; 2 an order was processed twice or the backlog broke its bound; 3 the run failed (a program
 * did not start, the producer failed, the queue did not drain); 64 bad options.
 */
@Command(
    name = "PolyglotDemo",
    mixinStandardHelpOptions = true,
    description = "Runs a producer and workers of several languages on one Sluice queue.")
public final class PolyglotDemo implements Callable<Integer> {
  @Option(names = "--server", required = true, paramLabel = "URL")
  String server;

  @Option(names = "--queue", defaultValue = "orders-polyglot", paramLabel = "Q")
  String queue;

  @Option(
      names = "--producer",
      required = true,
      paramLabel = "LANG:DIALECT:COMMAND",
      description = "The producer, e.g. go:example:peers/go/bin/orders-producer.")
  String producer;

  @Option(
      names = "--worker",
      required = true,
      paramLabel = "LANG:DIALECT:COMMAND",
      description = "A worker (repeatable), e.g. java:example:self.")
  List<String> workerSpecs;

  @Option(names = "--count", defaultValue = "2000", description = "Orders to send.")
  int count;

  @Option(
      names = "--rate",
      defaultValue = "0",
      description = "Producer rate limit per second (example producers); 0: as fast as credits go.")
  double rate;

  @Option(names = "--concurrency", defaultValue = "4", description = "Handlers per worker.")
  int concurrency;

  // 10 ms: three workers of concurrency 4 then take about 1,000 orders a second, fewer than a
  // producer sends that waits only for each PubAck, so the producer waits for credits. With 2 ms
  // the workers outpace such a producer and there is no back-pressure to see.
  @Option(names = "--service-ms", defaultValue = "10", description = "Work per order, per worker.")
  long serviceMs;

  @Option(names = "--token-batch", defaultValue = "8", description = "The queue's token batch b.")
  int tokenBatch;

  @Option(names = "--timeout", defaultValue = "PT3M", description = "Longest run (ISO-8601).")
  Duration timeout;

  @Option(names = "--logs", paramLabel = "DIR", description = "Programs' stderr (default: temp).")
  Path logs;

  @Option(names = "--json", description = "Print the JSON summary as the last stdout line.")
  boolean json;

  @Option(names = "--quiet", description = "No progress lines on stderr.")
  boolean quiet;

  @Option(
      names = "--standing-buffer",
      defaultValue = "0",
      description =
          "Credits with no worker alive; give the fleet's capacity when no worker runs a"
              + " reconciler (the conformance peers of Go and Rust).")
  int standingBuffer;

  /** Where the summary goes; tests replace it. */
  PrintStream out = System.out;

  private final PrintStream err = System.err;
  private final List<Member> members = new java.util.concurrent.CopyOnWriteArrayList<>();

  public static void main(String[] args) {
    CommandLine cl = new CommandLine(new PolyglotDemo());
    cl.setExecutionExceptionHandler(
        (e, c, p) -> {
          System.err.println("polyglot demo failed: " + e.getMessage());
          return 3;
        });
    System.exit(cl.execute(args));
  }

  @Override
  public Integer call() throws Exception {
    MemberSpec producerSpec;
    List<MemberSpec> workers = new ArrayList<>();
    try {
      producerSpec = MemberSpec.parse(producer, "producer");
      for (String w : workerSpecs) {
        workers.add(MemberSpec.parse(w, "worker"));
      }
    } catch (IllegalArgumentException e) {
      err.println(e.getMessage());
      return 64;
    }
    Path logDir =
        logs != null ? Files.createDirectories(logs) : Files.createTempDirectory("polyglot-");
    // Interrupted (Ctrl-C, SIGTERM): no program of the run outlives the demo.
    Thread reaper = new Thread(this::killAll, "polyglot-reaper");
    Runtime.getRuntime().addShutdownHook(reaper);
    PolyglotSummary s;
    try {
      s = run(producerSpec, workers, logDir);
    } catch (DemoFailure e) {
      err.println("polyglot demo: " + e.getMessage());
      err.println("polyglot demo: logs in " + logDir);
      return 3;
    } finally {
      killAll();
      Runtime.getRuntime().removeShutdownHook(reaper);
    }
    s.print(out);
    if (json) {
      out.println(s.toJson());
    }
    out.flush();
    return s.lost() > 0 ? 1 : s.duplicates() > 0 || !s.backlogBounded() ? 2 : 0;
  }

  private void killAll() {
    for (Member m : members) {
      if (m.alive()) {
        m.kill();
      }
    }
  }

  /** Runs the demo; the caller kills what is still running. */
  PolyglotSummary run(MemberSpec producerSpec, List<MemberSpec> workers, Path logDir)
      throws Exception {
    try (Connection nc =
        Nats.connect(
            Options.builder()
                .server(server)
                .connectionName("polyglot-demo")
                .errorListener(new QuietPullErrorListener())
                .build())) {
      Sluice sluice = Sluice.using(nc);
      // By default no standing buffer: the window comes from the workers' adverts, and the
      // credits from a reconciler (the Java worker runs one; so do the Go and Rust libraries').
      sluice.provision(
          QueueSpec.builder(queue).tokenBatch(tokenBatch).standingBuffer(standingBuffer).build());
      Accounting account = new Accounting(sluice, queue);

      List<Member> ws = startWorkers(workers, logDir);
      awaitAdverts(sluice, ws);
      long start = System.nanoTime();
      try (Sampler sampler = new Sampler(sluice, queue)) {
        Member p = startProducer(producerSpec, logDir);
        Progress progress = quiet ? null : new Progress(err, sampler, ws, start);
        try {
          Integer code = p.awaitExit(timeout.toMillis());
          if (code == null) {
            throw new DemoFailure("the producer did not finish within " + timeout);
          }
          long[] sent = Accounting.sentAndFailed(p, code, count);
          if (code != 0 && sent[0] == 0) {
            throw new DemoFailure(
                "the producer exited " + code + " having sent nothing: " + p.stderrTail(3));
          }
          awaitOutcomes(sluice, sampler, account, ws, sent[0]);
          double seconds = (System.nanoTime() - start) / 1e9;
          stopWorkers(ws);
          return account.summarize(sampler, p, ws, sent, seconds, err);
        } finally {
          if (progress != null) {
            progress.close();
          }
        }
      }
    }
  }

  private List<Member> startWorkers(List<MemberSpec> specs, Path logDir) throws Exception {
    Map<String, Integer> perLang = new TreeMap<>();
    List<Member> ws = new ArrayList<>();
    for (MemberSpec spec : specs) {
      int n = perLang.merge(spec.lang(), 1, Integer::sum);
      String id = spec.lang() + "-w" + n;
      List<String> args =
          spec.dialect() == MemberSpec.Dialect.EXAMPLE
              ? List.of(
                  "--server", server,
                  "--queue", queue,
                  "--worker-id", id,
                  "--concurrency", String.valueOf(concurrency),
                  "--service-ms", String.valueOf(serviceMs))
              : List.of(
                  "worker",
                  "--server",
                  server,
                  "--queue",
                  queue,
                  "--worker-id",
                  id,
                  "--concurrency",
                  String.valueOf(concurrency),
                  "--work-ms",
                  String.valueOf(serviceMs),
                  "--token-batch",
                  String.valueOf(tokenBatch));
      Member m = new Member(spec, id, args, logDir);
      members.add(m);
      ws.add(m);
    }
    return ws;
  }

  private Member startProducer(MemberSpec spec, Path logDir) throws Exception {
    List<String> args = new ArrayList<>();
    if (spec.dialect() == MemberSpec.Dialect.EXAMPLE) {
      args.addAll(
          List.of(
              "--server", server, "--queue", queue, "--count", String.valueOf(count), "--json"));
      if (rate > 0) {
        args.addAll(List.of("--rate", String.valueOf(rate)));
      }
    } else {
      // Message ids <producer-id>-<seq>: go-0, go-1, ... like the example producer's go-<n>.
      args.addAll(
          List.of(
              "produce",
              "--server",
              server,
              "--queue",
              queue,
              "--producer-id",
              spec.lang(),
              "--count",
              String.valueOf(count),
              "--acquire-timeout-ms",
              "60000"));
    }
    Member p = new Member(spec, spec.lang() + "-producer", args, logDir);
    members.add(p);
    return p;
  }

  /** Every worker advertises RUNNING before the producer starts (its version check needs one). */
  private void awaitAdverts(Sluice sluice, List<Member> ws) {
    try {
      Awaitility.await("a RUNNING advert of every worker")
          .pollInterval(Duration.ofMillis(100))
          .atMost(Duration.ofSeconds(60))
          .ignoreExceptionsMatching(e -> !(e instanceof DemoFailure))
          .until(
              () -> {
                for (Member m : ws) {
                  if (!m.alive()) {
                    throw new DemoFailure(m + " exited at start: " + m.stderrTail(3));
                  }
                }
                Set<String> running = new HashSet<>();
                for (WorkerAdvert a : sluice.inspect(queue).liveWorkers()) {
                  if (a.state() == WorkerAdvert.State.RUNNING) {
                    running.add(a.workerId());
                  }
                }
                return ws.stream().allMatch(m -> running.contains(m.id));
              });
    } catch (ConditionTimeoutException e) {
      List<String> missing = new ArrayList<>();
      for (Member m : ws) {
        missing.add(m + (m.alive() ? " (running)" : " (exited: " + m.stderrTail(2) + ")"));
      }
      throw new DemoFailure("not every worker advertised within 60 s: " + missing);
    }
  }

  /** Until every sent order was processed or dead-lettered and the work stream is empty. */
  private void awaitOutcomes(
      Sluice sluice, Sampler sampler, Accounting account, List<Member> ws, long sent) {
    try {
      Awaitility.await("an outcome for every order")
          .pollInterval(Duration.ofMillis(200))
          .atMost(Duration.ofSeconds(90))
          .ignoreExceptions()
          .until(
              () ->
                  sampler.backlog() == 0
                      && sluice.backlog(queue) == 0
                      && account.outcomes(ws).size() >= sent);
    } catch (ConditionTimeoutException e) {
      err.printf(
          "polyglot demo: gave up waiting after 90 s: backlog %d, %d outcomes for %d sent%n",
          sluice.backlog(queue), account.outcomes(ws).size(), sent);
    }
  }

  /** SIGTERM to every worker; each must print its end event and exit within 30 s. */
  private void stopWorkers(List<Member> ws) throws InterruptedException {
    for (Member m : ws) {
      m.terminate();
    }
    for (Member m : ws) {
      Integer code = m.awaitExit(30_000);
      if (code == null) {
        err.println("polyglot demo: " + m + " did not stop within 30 s of SIGTERM; killed");
        m.kill();
      } else if (!m.printedStop()) {
        err.println("polyglot demo: " + m + " exited " + code + " without its stopped event");
      }
    }
  }

  /** The run cannot go on; the message says why and what to look at. */
  static final class DemoFailure extends RuntimeException {
    DemoFailure(String message) {
      super(message);
    }
  }
}
