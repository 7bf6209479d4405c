package dev.sluice.faults;

import dev.sluice.Health;
import dev.sluice.Worker;
import dev.sluice.testkit.NatsServer;
import io.nats.client.Connection;
import io.nats.client.Options;
import java.time.Duration;
import java.util.List;

/**
 * On a server with users, the worker user's right to pull from the work queue is revoked by a
 * configuration reload ({@code SIGHUP}) under load, then given back. Proves: the worker reports the
 * denial in its health (FAILING, with the reason) instead of idling silently, nothing is lost while
 * it cannot pull, and it resumes by itself once the permission returns.
 */
final class PermissionRevoked implements Scenario {
  private static final Duration MAX_OUTAGE = Duration.ofSeconds(15);

  @Override
  public String name() {
    return "permission-revoked";
  }

  @Override
  public String proves() {
    return "a worker whose pull permission is revoked mid-run reports it and resumes when restored";
  }

  @Override
  public ScenarioResult run(Lab lab) throws Exception {
    String queue = "perm";
    NatsServer s = lab.server("n1", List.of(), users(queue, false));
    Connection admin = lab.connect(s.url(), new Options.Builder().userInfo("admin", "admin"));
    Workload w = new Workload(lab, admin, queue);
    w.provision(w.spec().build());
    Worker worker =
        w.startWorker(
            lab.connect(s.url(), new Options.Builder().userInfo("worker", "worker")),
            "w1",
            Duration.ofMillis(5));
    w.awaitBalanced(Duration.ofSeconds(20));
    Workload.Sender load =
        w.startSender(
            w.producer(lab.connect(s.url(), new Options.Builder().userInfo("app", "app")), "p1"),
            "m",
            600,
            Duration.ofMillis(10));
    w.awaitEffects(50, Duration.ofSeconds(60));
    lab.status("revoking the worker's pull permission (reload)");
    s.reload(users(queue, true));
    long deadline = System.nanoTime() + MAX_OUTAGE.toNanos();
    Health seen = worker.health();
    while (System.nanoTime() < deadline && seen.state() != Health.State.FAILING) {
      Thread.sleep(100); // polling the worker's health, which has no listener
      seen = worker.health();
    }
    Thread.sleep(1_000); // stay revoked a moment after the report: the fault's length
    lab.status("restoring the permission (reload)");
    s.reload(users(queue, false));
    long end = System.nanoTime();
    double rec = w.recover(load, end, Duration.ofSeconds(60));
    Health after = worker.health();
    String check = null;
    if (seen.state() != Health.State.FAILING) {
      check =
          "the worker never reported the revoked permission (health stayed "
              + seen.state()
              + ": "
              + seen.detail()
              + ")";
    } else if (after.state() != Health.State.RUNNING) {
      check =
          "the worker stayed "
              + after.state()
              + " after the permission returned ("
              + after.detail()
              + "), so the window stayed at "
              + w.window();
    }
    return ScenarioResult.of(
        name(), w.ledger(), w.creditsBalanced(), rec, check, "worker reported: " + seen.detail());
  }

  /** The authorization block: admin, app (producer) and worker; revoked denies worker pulls. */
  private static List<String> users(String queue, boolean revoked) {
    String deny =
        revoked ? ", deny: \"$JS.API.CONSUMER.MSG.NEXT.SLUICE_Q_" + queue + ".workers\"" : "";
    return List.of(
        "authorization {",
        "  users = [",
        "    { user: admin, password: admin }",
        "    { user: app, password: app }",
        "    { user: worker, password: worker,",
        "      permissions: { publish: { allow: \">\"" + deny + " }, subscribe: \">\" } }",
        "  ]",
        "}");
  }
}
