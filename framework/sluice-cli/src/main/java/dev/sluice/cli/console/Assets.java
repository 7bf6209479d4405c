package dev.sluice.cli.console;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import java.util.Properties;

/**
 * The front end, served from the jar: the console's own files under {@code console/} in the class
 * path, and uPlot from its WebJar ({@code org.webjars.npm:uplot}) under {@code /vendor/uplot/}.
 */
final class Assets {
  private static final Map<String, String> TYPES =
      Map.of(
          "html", "text/html; charset=utf-8",
          "js", "text/javascript; charset=utf-8",
          "css", "text/css; charset=utf-8",
          "svg", "image/svg+xml",
          "png", "image/png",
          "ico", "image/x-icon");

  private final String uplotDir;

  Assets() {
    this.uplotDir = "META-INF/resources/webjars/uplot/" + webJarVersion("uplot") + "/dist/";
  }

  /** The version of a bundled npm WebJar, from its Maven metadata. */
  private static String webJarVersion(String name) {
    String props = "META-INF/maven/org.webjars.npm/" + name + "/pom.properties";
    try (InputStream in = Assets.class.getClassLoader().getResourceAsStream(props)) {
      if (in == null) {
        throw new IllegalStateException(
            "the console's chart library is missing from the class path ("
                + props
                + "): rebuild the CLI jar with 'mvn -pl framework/sluice-cli -am package'");
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + props + ": " + e.getMessage(), e);
    }
  }

  /** Serves {@code path}, or answers 404. */
  void serve(HttpExchange ex, String path) throws IOException {
    String resource = resource(path);
    InputStream in =
        resource == null ? null : Assets.class.getClassLoader().getResourceAsStream(resource);
    if (in == null) {
      throw new ApiException(404, 4, "no such page: " + path + " (the console starts at /)");
    }
    try (in) {
      byte[] body = in.readAllBytes();
      String ext = resource.substring(resource.lastIndexOf('.') + 1);
      ex.getResponseHeaders().set("Content-Type", TYPES.getOrDefault(ext, "text/plain"));
      ex.getResponseHeaders().set("Cache-Control", "no-cache");
      ex.sendResponseHeaders(200, body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /** The class-path resource for a URL path, or null for a path outside the console's files. */
  String resource(String path) {
    if (path.contains("..") || path.contains("//") || path.contains("\\")) {
      return null;
    }
    if (path.equals("/") || path.equals("/index.html")) {
      return "console/index.html";
    }
    if (path.startsWith("/static/") && path.length() > "/static/".length()) {
      return "console/" + path.substring("/static/".length());
    }
    if (path.startsWith("/vendor/uplot/") && path.length() > "/vendor/uplot/".length()) {
      return uplotDir + path.substring("/vendor/uplot/".length());
    }
    return null;
  }
}
