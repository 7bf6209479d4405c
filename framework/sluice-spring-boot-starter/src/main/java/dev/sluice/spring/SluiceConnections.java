package dev.sluice.spring;

import dev.sluice.QuietPullErrorListener;
import io.nats.client.AuthenticationException;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.pem.PemSslStoreBundle;
import org.springframework.boot.ssl.pem.PemSslStoreDetails;

/**
 * Opens the NATS connection that {@code sluice.*} describes: servers, user and password, token,
 * credentials file, NKey seed file, TLS client certificate and CA. A service reconnects for ever
 * once it has connected; the first connection must succeed within {@code sluice.timeout}, or the
 * application fails to start with a message that says which property to set.
 */
final class SluiceConnections {
  private static final String CHECK_AUTH =
      "check sluice.user/sluice.password, sluice.token, sluice.creds or sluice.nkey";

  private SluiceConnections() {}

  static Connection connect(SluiceProperties p) {
    Options.Builder b =
        new Options.Builder()
            .servers(p.getServer().split(","))
            .connectionName(p.getConnectionName())
            .connectionTimeout(p.getTimeout())
            .maxReconnects(-1);
    ConnectErrors errors = new ConnectErrors();
    b.errorListener(new QuietPullErrorListener(errors));
    if (p.getUser() != null) {
      b.userInfo(p.getUser(), p.getPassword() == null ? "" : p.getPassword());
    } else if (p.getPassword() != null) {
      throw new SluiceStartupException(
          "sluice.password is set without sluice.user", "set both, or neither", null);
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
    if (p.getTlscert() != null || p.getTlskey() != null || p.getTlsca() != null) {
      b.sslContext(sslContext(p));
    }
    try {
      return Nats.connect(b.build());
    } catch (AuthenticationException e) {
      throw new SluiceStartupException(
          "authorization failed on " + p.getServer() + " (" + e.getMessage() + ")", CHECK_AUTH, e);
    } catch (IOException e) {
      Exception reported = errors.lastException.get();
      if (reported != null && causedBy(reported, SSLException.class)) {
        throw new SluiceStartupException(
            "TLS handshake with " + p.getServer() + " failed (" + rootMessage(reported) + ")",
            "check sluice.tlsca (the CA that signed the server's certificate) and"
                + " sluice.tlscert/sluice.tlskey",
            e);
      }
      String detail =
          errors.lastError.get() != null
              ? errors.lastError.get()
              : reported != null ? reported.getMessage() : e.getMessage();
      String why = detail == null ? "" : " (" + detail.trim() + ")";
      boolean auth = why.toLowerCase().contains("authoriz");
      throw new SluiceStartupException(
          (auth ? "authorization failed on " : "cannot connect to ") + p.getServer() + why,
          auth
              ? CHECK_AUTH
              : "is nats-server running there? Set sluice.server (e.g."
                  + " --sluice.server=nats://host:4222)",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while connecting to " + p.getServer(), e);
    }
  }

  /** Spring Boot's PEM support reads the files (PKCS#1, PKCS#8 and EC keys alike). */
  private static SSLContext sslContext(SluiceProperties p) {
    if ((p.getTlscert() == null) != (p.getTlskey() == null)) {
      throw new SluiceStartupException(
          "sluice.tlscert and sluice.tlskey go together", "set both, or neither", null);
    }
    PemSslStoreDetails keyStore = null;
    if (p.getTlscert() != null) {
      requireFile("sluice.tlscert", p.getTlscert());
      requireFile("sluice.tlskey", p.getTlskey());
      keyStore =
          PemSslStoreDetails.forCertificate(uri(p.getTlscert())).withPrivateKey(uri(p.getTlskey()));
    }
    PemSslStoreDetails trustStore = null;
    if (p.getTlsca() != null) {
      requireFile("sluice.tlsca", p.getTlsca());
      trustStore = PemSslStoreDetails.forCertificate(uri(p.getTlsca()));
    }
    try {
      return SslBundle.of(new PemSslStoreBundle(keyStore, trustStore)).createSslContext();
    } catch (RuntimeException e) {
      throw new SluiceStartupException(
          "cannot set up TLS from sluice.tlscert/sluice.tlskey/sluice.tlsca ("
              + e.getMessage()
              + ")",
          "check that they are PEM files: certificates, and an unencrypted private key",
          e);
    }
  }

  private static boolean causedBy(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null) {
      c = c.getCause();
    }
    return c.getMessage();
  }

  private static String uri(String file) {
    return Path.of(file).toAbsolutePath().toUri().toString();
  }

  private static void requireFile(String property, String file) {
    if (!Files.isReadable(Path.of(file))) {
      throw new SluiceStartupException(
          property + "=" + file + ": no such readable file",
          "set " + property + " to a file",
          null);
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
