package dev.sluice.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Starts one real nats-server with JetStream per test class, on a random loopback port and a
 * temporary store directory, and stops it after the class. Use it as a static field:
 *
 * <pre>{@code
 * @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
 *
 * @Test void roundTrip() {
 *   try (Connection nc = NATS.server().connect()) { ... }
 *   String queue = NATS.uniqueName("orders");   // unique per test
 * }
 * }</pre>
 *
 * <p>Test methods may also declare a {@link NatsServer} parameter. The binary comes from {@link
 * ServerBinary}.
 */
public final class NatsServerExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, ParameterResolver {
  private final List<String> extraConfig;
  private NatsServer server;
  private Path workDir;
  private String currentTest = "test";

  private NatsServerExtension(List<String> extraConfig) {
    this.extraConfig = List.copyOf(extraConfig);
  }

  /** A single JetStream server with default settings. */
  public static NatsServerExtension create() {
    return new NatsServerExtension(List.of());
  }

  /**
   * A single JetStream server with extra lines appended to its configuration file (for example an
   * {@code authorization} block).
   */
  public static NatsServerExtension withConfig(String... lines) {
    return new NatsServerExtension(List.of(lines));
  }

  /** The running server; valid between the class's first and last test. */
  public NatsServer server() {
    if (server == null) {
      throw new IllegalStateException("the nats-server is started before the test class runs");
    }
    return server;
  }

  /** A name unique to the current test, prefixed with the test method's name and {@code hint}. */
  public String uniqueName(String hint) {
    return Names.unique(hint + "-" + currentTest);
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    try {
      workDir = Files.createTempDirectory("sluice-nats-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server = new NatsServer("n1", Ports.free(), workDir, extraConfig).start();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    currentTest = context.getTestMethod().map(m -> m.getName()).orElse("test");
    if (!server.isAlive()) {
      // A previous test killed it and did not bring it back: every test starts with a live server.
      server.start();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (server != null) {
      server.stop();
    }
    TempDirs.deleteQuietly(workDir);
  }

  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
    return p.getParameter().getType() == NatsServer.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext e) {
    return server();
  }
}
