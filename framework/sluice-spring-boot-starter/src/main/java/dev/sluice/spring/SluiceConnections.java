package dev.sluice.spring;

import dev.sluice.QuietPullErrorListener;
import io.nats.client.AuthenticationException;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens the NATS connection that {@code sluice.*} describes: servers, user and password, token,
 * credentials file or NKey seed file. A service reconnects for ever once it has connected; the
 * first connection must succeed within {@code sluice.timeout}, or the application fails to start
 * with a message that says which property to set.
 */
final class SluiceConnections {
  private SluiceConnections() {}

  static Connection connect(SluiceProperties p) {
    Options.Builder b =
        new Options.Builder()
            .servers(p.getServer().split(","))
            .connectionName(p.getConnectionName())
            .connectionTimeout(p.getTimeout())
            .maxReconnects(-1)
            .errorListener(new QuietPullErrorListener());
    if (p.getUser() != null) {
      b.userInfo(p.getUser(), p.getPassword() == null ? "" : p.getPassword());
    } else if (p.getPassword() != null) {
      throw new IllegalStateException("sluice.password is set without sluice.user: set both");
    }
    if (p.getToken() != null) {
      b.token(p.getToken().toCharArray());
    }
    if (p.getCreds() != null) {
      requireFile("sluice.creds", p.getCreds());
      b.authHandler(Nats.credentials(p.getCreds()));
    }
    if (p.getNkey() != null) {
      requireFile("sluice.nkey", p.getNkey());
      b.authHandler(Nats.staticCredentials(null, readSeed(p.getNkey())));
    }
    try {
      return Nats.connect(b.build());
    } catch (AuthenticationException e) {
      throw new IllegalStateException(
          "authorization failed on "
              + p.getServer()
              + " ("
              + e.getMessage()
              + "): check sluice.user/sluice.password, sluice.token, sluice.creds or sluice.nkey",
          e);
    } catch (IOException e) {
      String why = e.getMessage() == null ? "" : " (" + e.getMessage() + ")";
      boolean auth = why.toLowerCase().contains("authoriz");
      throw new IllegalStateException(
          (auth ? "authorization failed on " : "cannot connect to ")
              + p.getServer()
              + why
              + (auth
                  ? ": check sluice.user/sluice.password, sluice.token, sluice.creds or sluice.nkey"
                  : ": is nats-server running there? Set sluice.server (e.g."
                      + " --sluice.server=nats://host:4222)"),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while connecting to " + p.getServer(), e);
    }
  }

  private static void requireFile(String property, String file) {
    if (!Files.isReadable(Path.of(file))) {
      throw new IllegalStateException(property + "=" + file + ": no such readable file");
    }
  }

  private static char[] readSeed(String file) {
    try {
      for (String line : Files.readAllLines(Path.of(file))) {
        String t = line.trim();
        if (t.startsWith("SU")) {
          return t.toCharArray();
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("sluice.nkey=" + file + ": " + e.getMessage(), e);
    }
    throw new IllegalStateException(
        "sluice.nkey=" + file + ": no user seed in it (a line starting with SU)");
  }
}
