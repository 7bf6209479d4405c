package dev.sluice.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import org.awaitility.Awaitility;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;

/**
 * Takes the screenshots of docs/CONSOLE.md from a running console:
 *
 * <pre>
 * java -cp framework/sluice-cli/target/test-classes:$(cat cli-test.classpath) \
 *     dev.sluice.cli.ConsoleScreenshots http://127.0.0.1:8740/ orders docs/img
 * </pre>
 */
public final class ConsoleScreenshots {
  private ConsoleScreenshots() {}

  private static void until(WebDriver b, Predicate<WebDriver> condition) {
    Awaitility.await()
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .until(() -> condition.test(b));
  }

  private static boolean click(WebDriver d, String css) {
    List<WebElement> found = d.findElements(By.cssSelector(css));
    if (found.isEmpty()) {
      return false;
    }
    found.get(0).click();
    return true;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: ConsoleScreenshots CONSOLE_URL QUEUE OUT_DIR");
      System.exit(2);
    }
    String url = args[0].endsWith("/") ? args[0] : args[0] + "/";
    String q = args[1];
    Path out = Path.of(args[2]);
    WebDriver b = Browser.open();
    try {
      b.get(url);
      until(b, d -> !d.findElements(By.cssSelector(".card .backlog-chart canvas")).isEmpty());
      Browser.screenshot(b, out.resolve("console-overview.png"));

      b.get(url + "#/queue/" + q);
      until(b, d -> !d.findElements(By.cssSelector("#workers-table, #workers p")).isEmpty());
      until(b, d -> !d.findElement(By.id("findings")).getText().contains("Asking"));
      Browser.screenshot(b, out.resolve("console-queue.png"));

      b.get(url + "#/dlq/" + q);
      until(b, d -> !d.findElements(By.cssSelector("#dlq-table, #dlq-empty")).isEmpty());
      Browser.screenshot(b, out.resolve("console-dead-letters.png"));
      if (!b.findElements(By.cssSelector("#dlq-table button.show")).isEmpty()) {
        // The list redraws when the dead-letter count changes: click what is there now.
        until(b, d -> click(d, "#dlq-table button.show"));
        until(b, d -> !d.findElements(By.id("payload")).isEmpty());
        Browser.screenshot(b, out.resolve("console-dead-letter.png"));
      }

      if (!b.findElements(By.cssSelector("#dlq-table a[href^='#/message/']")).isEmpty()) {
        until(b, d -> click(d, "#dlq-table a[href^='#/message/']"));
        until(b, d -> !d.findElements(By.id("trace-id")).isEmpty());
        Browser.screenshot(b, out.resolve("console-message.png"));
      }
    } finally {
      b.quit();
    }
  }
}
