package dev.sluice.cli.console;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.sluice.cli.ExitCodes;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web console: the front end, the JSON API and the sampler, on the JDK's HTTP server. Start it
 * with {@link #start}, stop it with {@link #close} (which also closes {@code onClose}, the NATS
 * session).
 */
public final class ConsoleServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ConsoleServer.class);
  private static final int MAX_PAGES = 32;

  private final HttpServer http;
  private final ExecutorService pool;
  private final Sampler sampler;
  private final EventHub hub;
  private final AutoCloseable onClose;

  /** The console's settings. {@code port} 0 picks a free port. */
  public record Settings(
      InetAddress bind, int port, boolean allowWrites, Duration sampleInterval, int historySize) {}

  private ConsoleServer(Backend backend, Settings s, AutoCloseable onClose) throws IOException {
    this.onClose = onClose;
    ObjectMapper mapper = new ObjectMapper();
    History history = new History(s.historySize());
    this.hub = new EventHub(MAX_PAGES);
    Guard guard = new Guard(s.allowWrites(), s.bind().isLoopbackAddress());
    Api api = new Api(backend, history, hub, guard, mapper, s.sampleInterval().toMillis());
    Assets assets = new Assets();
    this.sampler = new Sampler(backend, history, hub, mapper);
    this.http = HttpServer.create(new InetSocketAddress(s.bind(), s.port()), 64);
    // One thread per request; live streams hold theirs, so the pool grows up to the page limit.
    this.pool =
        new ThreadPoolExecutor(
            2,
            MAX_PAGES + 16,
            30,
            TimeUnit.SECONDS,
            new SynchronousQueue<>(),
            r -> {
              Thread t = new Thread(r, "sluice-console-http");
              t.setDaemon(true);
              return t;
            },
            new ThreadPoolExecutor.CallerRunsPolicy());
    http.setExecutor(pool);
    http.createContext(
        "/",
        ex ->
            respond(
                ex,
                guard,
                () -> {
                  if (ex.getRequestURI().getPath().startsWith("/api/")) {
                    return api.handle(ex);
                  }
                  assets.serve(ex, ex.getRequestURI().getPath());
                  return null;
                }));
    sampler.start(s.sampleInterval());
    http.start();
  }

  /** Starts the console on {@code backend}; it runs until {@link #close}. */
  public static ConsoleServer start(Backend backend, Settings settings, AutoCloseable onClose)
      throws IOException {
    return new ConsoleServer(backend, settings, onClose);
  }

  /** The console's address, e.g. {@code http://127.0.0.1:8740/}. */
  public String url() {
    InetSocketAddress a = http.getAddress();
    String host = a.getAddress().getHostAddress();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return "http://" + host + ":" + a.getPort() + "/";
  }

  public int port() {
    return http.getAddress().getPort();
  }

  @Override
  public void close() {
    sampler.close();
    hub.closeAll();
    http.stop(0);
    pool.shutdownNow();
    try {
      onClose.close();
    } catch (Exception e) {
      log.warn("closing the NATS connection failed", e);
    }
  }

  private interface Body {
    /** The JSON to answer with, or null when the response was already sent. */
    String get() throws IOException;
  }

  private static void respond(HttpExchange ex, Guard guard, Body body) {
    try {
      headers(ex);
      int status = 200;
      String json;
      try {
        guard.checkHost(ex);
        json = body.get();
      } catch (ApiException e) {
        status = e.status();
        json = e.body() != null ? e.body() : error(e.getMessage(), e.exitCode());
      } catch (RuntimeException e) {
        log.warn("request {} failed", ex.getRequestURI(), e);
        status = 500;
        json = error("unexpected error: " + e + " (see the console's log)", 1);
      }
      if (json != null) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(status, head ? -1 : b.length);
        if (!head) {
          try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
          }
        }
      }
    } catch (IOException gone) {
      // The browser went away.
    } finally {
      ex.close();
    }
  }

  private static void headers(HttpExchange ex) {
    var h = ex.getResponseHeaders();
    h.set(
        "Content-Security-Policy",
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
            + " frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    h.set("X-Content-Type-Options", "nosniff");
    h.set("X-Frame-Options", "DENY");
    h.set("Referrer-Policy", "no-referrer");
  }

  static String error(String message, int exitCode) {
    try {
      return new ObjectMapper().writeValueAsString(ExitCodes.errorDocument(message, exitCode));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
