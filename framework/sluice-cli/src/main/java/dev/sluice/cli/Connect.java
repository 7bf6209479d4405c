package dev.sluice.cli;

import dev.sluice.Sluice;
import io.nats.client.AuthenticationException;
import io.nats.client.Connection;
import io.nats.client.ErrorListener;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** Opens the connection described by the global options, mapping failures to exit code 3. */
final class Connect {
  private final SluiceCli o;

  Connect(SluiceCli options) {
    this.o = options;
  }

  /** An open session; close it when the command ends. */
  Session open() {
    return open(false);
  }

  /**
   * An open session. With {@code reconnect} (the console, which outlives server restarts) the
   * connection reconnects forever after it was first established; a command fails fast instead.
   */
  Session open(boolean reconnect) {
    Options.Builder b =
        new Options.Builder()
            .servers(serverUrls(o.server))
            .connectionName(reconnect ? "sluice-console" : "sluice-cli")
            .connectionTimeout(o.timeout);
    if (reconnect) {
      b.maxReconnects(-1).reconnectWait(java.time.Duration.ofSeconds(1));
    } else {
      b.noReconnect();
    }
    if (o.user != null) {
      b.userInfo(o.user, o.password == null ? "" : o.password);
    } else if (o.password != null) {
      throw CliException.usage("--password needs --user");
    }
    if (o.token != null) {
      b.token(o.token.toCharArray());
    }
    if (o.creds != null) {
      requireFile("--creds", o.creds);
      b.authHandler(Nats.credentials(o.creds));
    }
    if (o.nkey != null) {
      requireFile("--nkey", o.nkey);
      b.authHandler(Nats.staticCredentials(null, readSeed(o.nkey)));
    }
    if (o.tlsCert != null || o.tlsKey != null || o.tlsCa != null) {
      b.sslContext(sslContext());
    }
    QuietErrors errors = new QuietErrors();
    b.errorListener(errors);
    Connection nc;
    try {
      nc = Nats.connect(b.build());
    } catch (AuthenticationException e) {
      throw authFailed(e.getMessage());
    } catch (IOException e) {
      String last = errors.last.get();
      if (last != null && last.toLowerCase().contains("authoriz")) {
        throw authFailed(last);
      }
      throw new CliException(
          ExitCodes.CONNECT,
          "cannot connect to "
              + o.server
              + (last != null ? " (" + last + ")" : "")
              + ": is nats-server running there? Set --server or NATS_URL",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.CONNECT, "interrupted while connecting to " + o.server);
    }
    if (!nc.getServerInfo().isJetStreamAvailable()) {
      String url = nc.getConnectedUrl();
      closeQuietly(nc);
      throw new CliException(
          ExitCodes.CONNECT,
          "JetStream is not enabled on "
              + (url == null ? o.server : url)
              + ": start nats-server with -js (or a jetstream {} block in its configuration)");
    }
    return new Session(nc, o);
  }

  /**
   * The comma-separated URLs of {@code --server}, each checked to be a NATS URL (exit 2 if not).
   */
  static String[] serverUrls(String servers) {
    String[] urls = servers.split(",");
    for (int i = 0; i < urls.length; i++) {
      String u = urls[i].trim();
      urls[i] = u;
      int colon = u.indexOf("://");
      String scheme = colon < 0 ? "nats" : u.substring(0, colon).toLowerCase(java.util.Locale.ROOT);
      boolean known =
          switch (scheme) {
            case "nats", "tls", "opentls", "ws", "wss" -> true;
            default -> false;
          };
      try {
        if (!known || u.isEmpty()) {
          throw new IllegalArgumentException("unsupported scheme");
        }
        new Options.Builder().server(u).build();
      } catch (IllegalArgumentException e) {
        throw CliException.usage(
            "--server '"
                + u
                + "' is not a NATS URL: use nats://host:4222 (or tls://, ws://, wss://)");
      }
    }
    return urls;
  }

  private static void closeQuietly(Connection nc) {
    try {
      nc.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private CliException authFailed(String detail) {
    return new CliException(
        ExitCodes.CONNECT,
        "authorization failed on "
            + o.server
            + (detail == null ? "" : " (" + detail.trim() + ")")
            + ": check --user/--password, --token, --creds or --nkey");
  }

  private static void requireFile(String option, String file) {
    if (!Files.isReadable(Path.of(file))) {
      throw CliException.usage(option + " " + file + ": no such readable file");
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
      throw CliException.usage("--nkey " + file + ": " + e.getMessage());
    }
    throw CliException.usage("--nkey " + file + ": no user seed (a line starting with SU)");
  }

  private SSLContext sslContext() {
    try {
      KeyManagerFactory kmf = null;
      if (o.tlsCert != null || o.tlsKey != null) {
        if (o.tlsCert == null || o.tlsKey == null) {
          throw CliException.usage("--tlscert and --tlskey go together");
        }
        List<Certificate> chain = certificates(o.tlsCert);
        PrivateKey key = privateKey(o.tlsKey);
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        ks.setKeyEntry("client", key, new char[0], chain.toArray(new Certificate[0]));
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      if (o.tlsCa != null) {
        KeyStore ts = KeyStore.getInstance(KeyStore.getDefaultType());
        ts.load(null, null);
        int i = 0;
        for (Certificate c : certificates(o.tlsCa)) {
          ts.setCertificateEntry("ca" + i++, c);
        }
        tmf.init(ts);
      } else {
        tmf.init((KeyStore) null);
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
      return ctx;
    } catch (CliException e) {
      throw e;
    } catch (Exception e) {
      throw CliException.usage("cannot set up TLS: " + e.getMessage());
    }
  }

  private static List<Certificate> certificates(String file) throws Exception {
    try (var in = Files.newInputStream(Path.of(file))) {
      Collection<? extends Certificate> certs =
          CertificateFactory.getInstance("X.509").generateCertificates(in);
      if (certs.isEmpty()) {
        throw CliException.usage(file + ": no PEM certificate in it");
      }
      return new ArrayList<>(certs);
    } catch (NoSuchFileException e) {
      throw CliException.usage(file + ": no such file");
    }
  }

  private static final Pattern PEM_KEY =
      Pattern.compile(
          "-----BEGIN ([A-Z ]*)PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END", Pattern.DOTALL);

  private static PrivateKey privateKey(String file) throws Exception {
    String pem;
    try {
      pem = Files.readString(Path.of(file), StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      throw CliException.usage(file + ": no such file");
    }
    Matcher m = PEM_KEY.matcher(pem);
    if (!m.find()) {
      throw CliException.usage(file + ": no PEM private key in it");
    }
    if (!m.group(1).isEmpty()) {
      throw CliException.usage(
          file
              + ": a "
              + m.group(1).trim()
              + " key; convert it to PKCS#8 with 'openssl pkcs8 -topk8 -nocrypt -in "
              + file
              + "'");
    }
    byte[] der = Base64.getMimeDecoder().decode(m.group(2));
    for (String alg : new String[] {"RSA", "EC", "Ed25519"}) {
      try {
        return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (Exception ignored) {
        // try the next algorithm
      }
    }
    throw CliException.usage(file + ": not an RSA, EC or Ed25519 PKCS#8 key");
  }

  /** Remembers the last server error instead of logging it. */
  private static final class QuietErrors implements ErrorListener {
    final AtomicReference<String> last = new AtomicReference<>();

    @Override
    public void errorOccurred(Connection conn, String error) {
      last.set(error);
    }

    @Override
    public void exceptionOccurred(Connection conn, Exception exp) {
      last.compareAndSet(null, exp.getMessage());
    }
  }

  /** An open connection and the Sluice read model on it. */
  static final class Session implements AutoCloseable {
    final Connection nc;
    final SluiceCli options;
    private final Sluice sluice;

    Session(Connection nc, SluiceCli options) {
      this.nc = nc;
      this.options = options;
      this.sluice = Sluice.using(nc);
    }

    String url() {
      String u = nc.getConnectedUrl();
      return u == null ? options.server : u;
    }

    /** Sluice on this session's connection: the read model and the dead-letter operations. */
    Sluice sluice() {
      return sluice;
    }

    /** Names of every Sluice queue, sorted. */
    List<String> queues() {
      return sluice.queues();
    }

    @Override
    public void close() {
      try {
        nc.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
