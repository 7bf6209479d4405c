package dev.sluice.cli;

import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Headless Chromium driven through Debian's {@code /usr/bin/chromedriver}: the driver and the
 * browser binary are given explicitly, so Selenium Manager never downloads anything.
 */
final class Browser {
  static final Path DRIVER = Path.of("/usr/bin/chromedriver");
  static final Path CHROMIUM = Path.of("/usr/lib/chromium/chromium");

  private Browser() {}

  static WebDriver open() {
    if (!Files.isExecutable(DRIVER) || !Files.isExecutable(CHROMIUM)) {
      fail(
          "headless Chromium is missing (%s, %s): install it with 'apt-get install -y chromium"
              + " chromium-driver' (scripts/test does)",
          DRIVER, CHROMIUM);
    }
    System.setProperty("webdriver.chrome.driver", DRIVER.toString());
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(DRIVER.toFile())
            .usingAnyFreePort()
            .build();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--window-size=1400,1000");
    return new ChromeDriver(service, options);
  }

  /** Saves a screenshot of the page as {@code target/console-screenshots/NAME.png}. */
  static void screenshot(WebDriver browser, String name) throws IOException {
    screenshot(browser, Path.of("target", "console-screenshots", name + ".png"));
  }

  static void screenshot(WebDriver browser, Path file) throws IOException {
    File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.copy(shot.toPath(), file, StandardCopyOption.REPLACE_EXISTING);
  }
}
