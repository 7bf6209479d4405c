package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.DeadLetterPolicy;
import dev.sluice.OutgoingMessage;
import dev.sluice.QueueProducer;
import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import dev.sluice.Worker;
import dev.sluice.cli.console.ConsoleServer;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServer;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StreamConfiguration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import picocli.CommandLine;

/** The console in headless Chromium against a real nats-server with a worker running. */
class ConsoleBrowserTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8("shop.Order", 2);
  static final Duration WAIT = Duration.ofSeconds(20);

  static WebDriver browser;

  @BeforeAll
  static void openBrowser() {
    browser = Browser.open();
  }

  @AfterAll
  static void closeBrowser() {
    if (browser != null) {
      browser.quit();
    }
  }

  /** Starts {@code sluice ui} in-process as a user would: the same options, parsed by picocli. */
  static ConsoleServer console(String url, String... uiArgs) throws Exception {
    CommandLine cl = SluiceCli.commandLine();
    String[] args = new String[4 + uiArgs.length];
    args[0] = "--server";
    args[1] = url;
    args[2] = "ui";
    args[3] = "--port=0";
    System.arraycopy(uiArgs, 0, args, 4, uiArgs.length);
    cl.parseArgs(args);
    UiCommand ui = cl.getSubcommands().get("ui").getCommand();
    return ui.start();
  }

  static WebElement find(String css) {
    return await()
        .atMost(WAIT)
        .ignoreExceptions()
        .until(() -> browser.findElement(By.cssSelector(css)), e -> e.isDisplayed());
  }

  static void awaitText(String css, String text) {
    await()
        .atMost(WAIT)
        .ignoreExceptions()
        .untilAsserted(
            () -> assertThat(browser.findElement(By.cssSelector(css)).getText()).contains(text));
  }

  /** Clicks the element once it is there (the page may redraw it meanwhile). */
  static void click(String css) {
    await()
        .atMost(WAIT)
        .ignoreExceptions()
        .until(
            () -> {
              browser.findElement(By.cssSelector(css)).click();
              return true;
            });
  }

  @Test
  void overviewChartsDeadLetterBrowseAndReplay() throws Exception {
    String q = NATS.uniqueName("orders");
    Set<String> failedOnce = ConcurrentHashMap.newKeySet();
    Set<String> done = ConcurrentHashMap.newKeySet();
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).standingBuffer(4).build());
      try (Worker w =
              sluice
                  .worker(q)
                  .workerId("w-console")
                  .deadLetter(DeadLetterPolicy.builder().maxAttempts(1).build())
                  .handle(
                      JOB,
                      (s, ctx) -> {
                        if (failedOnce.add(s)) {
                          throw new IllegalStateException("payment service refused " + s);
                        }
                        done.add(s);
                      })
                  .start();
          QueueProducer p = sluice.producer(q).acquireTimeout(WAIT).build();
          ConsoleServer console =
              console(NATS.server().url(), "--allow-writes", "--sample-interval=500ms")) {
        p.send(OutgoingMessage.of(JOB, "{\"order\": 1}"));
        p.send(OutgoingMessage.of(JOB, "{\"order\": 2}"));
        await().atMost(WAIT).until(() -> s(nc).deadLetters().count(q) == 2);

        // The overview: the queue's row and its live charts.
        browser.get(console.url());
        // The table is redrawn on every sample: read the row inside the wait, never keep it.
        awaitText("#queues-table tr[data-queue='" + q + "']", q);
        awaitText("#queues-table tr[data-queue='" + q + "']", " 2"); // two dead letters
        find(".card[data-queue='" + q + "'] .backlog-chart canvas");
        find(".card[data-queue='" + q + "'] .throughput-chart canvas");
        awaitText(".card[data-queue='" + q + "'] .backlog-chart", "backlog");
        awaitText(".card[data-queue='" + q + "'] .backlog-chart", "window");
        Browser.screenshot(browser, "overview");

        // The queue page: the worker's advert.
        browser.get(console.url() + "#/queue/" + q);
        awaitText("#workers-table", "w-console");
        awaitText("#workers-table", "shop.Order@2");
        Browser.screenshot(browser, "queue");

        // The dead-letter browser: two records; show one, replay it, see it processed.
        browser.get(console.url() + "#/dlq/" + q);
        await()
            .atMost(WAIT)
            .ignoreExceptions()
            .until(() -> browser.findElements(By.cssSelector("#dlq-table tbody tr")).size() == 2);
        awaitText("#dlq-table tbody tr", "max-attempts");
        awaitText("#dlq-table tbody tr", "payment service refused");
        String seq =
            await()
                .atMost(WAIT)
                .ignoreExceptions()
                .until(
                    () ->
                        browser
                            .findElements(By.cssSelector("#dlq-table tbody tr"))
                            .get(0)
                            .getAttribute("data-seq"),
                    v -> v != null);
        click("#dlq-table tr[data-seq='" + seq + "'] button.show");
        awaitText("#payload", "\"order\"");
        awaitText("#dlq-detail", "Sluice-Dlq-Reason");
        Browser.screenshot(browser, "dead-letters");

        click("#dlq-table tr[data-seq='" + seq + "'] button.replay");
        awaitText("#dlq-result", "Replayed dead letter " + seq);
        await().atMost(WAIT).until(() -> done.size() == 1);
        await()
            .atMost(WAIT)
            .ignoreExceptions()
            .until(() -> browser.findElements(By.cssSelector("#dlq-table tbody tr")).size() == 1);

        // The message page of the remaining dead letter: its trace id.
        String msgId =
            await()
                .atMost(WAIT)
                .ignoreExceptions()
                .until(
                    () -> {
                      WebElement link =
                          browser.findElement(By.cssSelector("#dlq-table a[href^='#/message/']"));
                      String text = link.getText();
                      link.click();
                      return text;
                    },
                    t -> !t.isEmpty());
        awaitText("h1", msgId);
        find("#trace-id");
        awaitText(".card", "payment service refused");
        Browser.screenshot(browser, "message");
      }
    }
  }

  /**
   * A worker that cannot write its dead letters (the stream no longer takes the queue's subject)
   * says so in its advert: the overview marks the queue beside its health and the queue page shows
   * the worker's problem lines.
   */
  @Test
  void aFailingWorkersProblemShowsBesideTheHealthAndOnTheQueuePage() throws Exception {
    String q = NATS.uniqueName("billing");
    try (Connection nc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.of(q));
      JetStreamManagement jsm = nc.jetStreamManagement();
      StreamConfiguration dlq = null;
      try (Worker w = WorkerProblemCliTest.alwaysFailing(sluice, q, JOB, "w-failing");
          QueueProducer p = sluice.producer(q).acquireTimeout(WAIT).build();
          ConsoleServer console = console(NATS.server().url(), "--sample-interval=300ms")) {
        dlq = WorkerProblemCliTest.unwritableDeadLetters(jsm);
        p.send(OutgoingMessage.of(JOB, "poison"));

        browser.get(console.url());
        awaitText("#queues-table tr[data-queue='" + q + "'] .badge.failing", "1 failing");

        browser.get(console.url() + "#/queue/" + q);
        awaitText("#worker-problems .problem[data-worker='w-failing'] li", "dlq-unwritable: ");
        awaitText("#worker-problems", "w-failing reports itself failing:");
        awaitText("#worker-problems", "SLUICE_DLQ");
        awaitText("#workers-table tr[data-worker='w-failing']", "failing");
        awaitText("#findings", "[worker-failing]");
        Browser.screenshot(browser, "worker-problem");
      } finally {
        if (dlq != null) {
          jsm.updateStream(dlq);
        }
      }
    }
  }

  @Test
  void aBannerSaysWhenNatsGoesAwayAndThePageRecoversAndReadOnlyOffersNoRepair() throws Exception {
    Path dir = Files.createTempDirectory("sluice-console-nats-");
    NatsServer nats =
        NatsServer.create("n1", NatsServer.freePort(), dir, List.of(), List.of()).start();
    try (ConsoleServer console = console(nats.url(), "--sample-interval=300ms")) {
      try (Connection nc = nats.connect()) {
        Sluice.using(nc).provision(QueueSpec.of("bannerq"));
      }
      browser.get(console.url());
      find("#queues-table tr[data-queue='bannerq']");
      WebElement banner = browser.findElement(By.id("banner"));
      assertThat(banner.isDisplayed()).isFalse();

      nats.stop();
      awaitText("#banner", "unreachable");
      awaitText("#queues-table", "bannerq"); // the last known rows stay on the page
      Browser.screenshot(browser, "nats-down");

      nats.start();
      await().atMost(WAIT).until(() -> !browser.findElement(By.id("banner")).isDisplayed());
      find("#queues-table tr[data-queue='bannerq']");

      // Read-only (no --allow-writes): the dead-letter page says so and offers no repair.
      browser.get(console.url() + "#/dlq/bannerq");
      awaitText(".toolbar", "Read-only: start sluice ui with --allow-writes");
      assertThat(browser.findElement(By.id("purge")).isEnabled()).isFalse();
      assertThat(browser.findElement(By.id("mode")).getText()).isEqualTo("read-only");
    } finally {
      nats.close();
    }
  }

  private static Sluice s(Connection nc) {
    return Sluice.using(nc);
  }
}
