package dev.sluice.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.testkit.NatsServer;
import io.nats.client.Connection;
import io.nats.client.JetStreamOptions;
import io.nats.client.KeyValueOptions;
import io.nats.client.Options;
import io.nats.client.api.KeyValueEntry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * On a server whose users get exactly the permissions {@code scripts/sluice permissions} prints for
 * their role, a client with the producer role tries to raise the window: it publishes a credit
 * token worth 1,024 and writes a well-formed capacity advert (a copy of a live worker's). Proves:
 * the server refuses both, while a Sluice producer and worker with their roles' permissions do
 * their work end to end.
 */
final class ForgedCredits implements Scenario {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration REFUSAL_WAIT = Duration.ofSeconds(3);

  @Override
  public String name() {
    return "forged-credits";
  }

  @Override
  public String proves() {
    return "a producer-role client cannot forge tokens or adverts; roles work end to end";
  }

  @Override
  public ScenarioResult run(Lab lab) throws Exception {
    String queue = "forge";
    JsonNode producerRole;
    JsonNode workerRole;
    try {
      producerRole = permissions(lab, "producer", queue);
      workerRole = permissions(lab, "worker", queue);
    } catch (IllegalStateException e) {
      return ScenarioResult.aborted(name(), new Ledger(), e.getMessage());
    }
    NatsServer s =
        lab.server(
            "n1",
            List.of(),
            List.of(
                "authorization {",
                "  users = [",
                "    { user: admin, password: admin }",
                "    { user: producer, password: producer, permissions: " + producerRole + " }",
                "    { user: worker, password: worker, permissions: " + workerRole + " }",
                "  ]",
                "}"));
    Connection admin = lab.connect(s.url(), new Options.Builder().userInfo("admin", "admin"));
    Workload w = new Workload(lab, admin, queue);
    w.provision(w.spec().build());
    w.startWorker(
        lab.connect(s.url(), new Options.Builder().userInfo("worker", "worker")),
        "w1",
        Duration.ofMillis(5));
    w.awaitBalanced(Duration.ofSeconds(20));
    Connection producerUser =
        lab.connect(s.url(), new Options.Builder().userInfo("producer", "producer"));
    Workload.Sender load =
        w.startSender(w.producer(producerUser, "p1"), "m", 300, Duration.ofMillis(10));
    w.awaitEffects(30, Duration.ofSeconds(60));

    lab.status("forging a token and an advert as the producer user");
    Connection forger =
        lab.connect(s.url(), new Options.Builder().userInfo("producer", "producer"));
    List<String> accepted = new ArrayList<>();
    if (accepted(
        () ->
            forger
                .jetStream(JetStreamOptions.builder().requestTimeout(REFUSAL_WAIT).build())
                .publish("sluice.credit." + queue + ".1024", new byte[0]))) {
      accepted.add("a token worth 1024 published");
    }
    KeyValueEntry real = admin.keyValue("sluice-capacity").get(queue + ".w1");
    byte[] advert = real == null ? new byte[0] : real.getValue();
    if (accepted(
        () ->
            forger
                .keyValue(
                    "sluice-capacity",
                    KeyValueOptions.builder()
                        .jetStreamOptions(
                            JetStreamOptions.builder().requestTimeout(REFUSAL_WAIT).build())
                        .build())
                .put(queue + ".forged", advert))) {
      accepted.add("a capacity advert written");
    }
    long end = System.nanoTime();
    double rec = w.recover(load, end, Duration.ofSeconds(60));
    String check =
        accepted.isEmpty()
            ? null
            : "the server accepted from the producer role: " + String.join(", ", accepted);
    return ScenarioResult.of(
        name(), w.ledger(), w.creditsBalanced(), rec, check, "token and advert refused");
  }

  private interface Act {
    void run() throws Exception;
  }

  /** Whether the server accepted {@code act}: a permission violation shows as a failure. */
  private static boolean accepted(Act act) {
    try {
      act.run();
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  /** The role's permissions from {@code scripts/sluice permissions --json}. */
  private static JsonNode permissions(Lab lab, String role, String queue) throws Exception {
    String root = System.getProperty("sluice.faults.root");
    if (root == null) {
      throw new IllegalStateException(
          "the project root is unknown (run through scripts/faults, which sets sluice.faults.root)");
    }
    Path out = lab.dir().resolve("permissions-" + role + ".json");
    Process p =
        new ProcessBuilder(
                Path.of(root, "scripts", "sluice").toString(),
                "permissions",
                "--role",
                role,
                "--queue",
                queue,
                "--json")
            .redirectOutput(out.toFile())
            .redirectError(lab.dir().resolve("permissions-" + role + ".err").toFile())
            .start();
    Path err = lab.dir().resolve("permissions-" + role + ".err");
    if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
      p.destroyForcibly();
      List<String> said = java.nio.file.Files.readAllLines(err, StandardCharsets.UTF_8);
      throw new IllegalStateException(
          "scripts/sluice permissions --role "
              + role
              + " failed, so the role permissions cannot be tested: "
              + (said.isEmpty() ? "no output" : said.get(said.size() - 1)));
    }
    try {
      List<String> lines = java.nio.file.Files.readAllLines(out, StandardCharsets.UTF_8);
      JsonNode perms = JSON.readTree(lines.get(lines.size() - 1));
      if (!perms.has("publish") || !perms.has("subscribe")) {
        throw new IllegalStateException("scripts/sluice permissions printed no permission block");
      }
      return perms;
    } catch (IOException | IndexOutOfBoundsException e) {
      throw new IllegalStateException("cannot read the " + role + " permissions: " + e);
    }
  }
}
