package dev.sluice.spring;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code sluice.*} properties. The connection options carry the operator CLI's names ({@code
 * sluice.server} is {@code --server}, {@code sluice.creds} is {@code --creds}, and so on), so one
 * set of credentials reads the same in both places.
 */
@ConfigurationProperties("sluice")
public class SluiceProperties {
  /** NATS server URL(s), comma-separated. */
  private String server = "nats://127.0.0.1:4222";

  /** User name. */
  private String user;

  /** Password (with user). */
  private String password;

  /** Authentication token. */
  private String token;

  /** User credentials file (JWT + NKey seed). */
  private String creds;

  /** NKey seed file. */
  private String nkey;

  /** Client certificate (PEM) for TLS client authentication. */
  private String tlscert;

  /** Client private key (PEM) for tlscert. */
  private String tlskey;

  /** CA certificate(s) (PEM) to verify the server with. */
  private String tlsca;

  /** Connect timeout. */
  private Duration timeout = Duration.ofSeconds(5);

  /** The connection's name, as the server's monitoring shows it. */
  private String connectionName = "sluice-spring";

  /** Queues to provision (create or update, idempotently) at start-up, by name. */
  private Map<String, Queue> queues = new LinkedHashMap<>();

  private final Listener listener = new Listener();

  private final Producer producer = new Producer();

  public String getServer() {
    return server;
  }

  public void setServer(String server) {
    this.server = server;
  }

  public String getUser() {
    return user;
  }

  public void setUser(String user) {
    this.user = user;
  }

  public String getPassword() {
    return password;
  }

  public void setPassword(String password) {
    this.password = password;
  }

  public String getToken() {
    return token;
  }

  public void setToken(String token) {
    this.token = token;
  }

  public String getCreds() {
    return creds;
  }

  public void setCreds(String creds) {
    this.creds = creds;
  }

  public String getNkey() {
    return nkey;
  }

  public void setNkey(String nkey) {
    this.nkey = nkey;
  }

  public String getTlscert() {
    return tlscert;
  }

  public void setTlscert(String tlscert) {
    this.tlscert = tlscert;
  }

  public String getTlskey() {
    return tlskey;
  }

  public void setTlskey(String tlskey) {
    this.tlskey = tlskey;
  }

  public String getTlsca() {
    return tlsca;
  }

  public void setTlsca(String tlsca) {
    this.tlsca = tlsca;
  }

  public Duration getTimeout() {
    return timeout;
  }

  public void setTimeout(Duration timeout) {
    this.timeout = timeout;
  }

  public String getConnectionName() {
    return connectionName;
  }

  public void setConnectionName(String connectionName) {
    this.connectionName = connectionName;
  }

  public Map<String, Queue> getQueues() {
    return queues;
  }

  public void setQueues(Map<String, Queue> queues) {
    this.queues = queues;
  }

  public Listener getListener() {
    return listener;
  }

  public Producer getProducer() {
    return producer;
  }

  /** One queue to provision; unset values keep {@code QueueSpec}'s defaults. */
  public static class Queue {
    /** Stream replicas (1 or 3 on a cluster). */
    private Integer replicas;

    /** The work stream's maximum number of messages; publishes beyond it are refused. */
    private Long hardLimit;

    /** Credits minted for a fresh queue before any worker advertises capacity. */
    private Integer standingBuffer;

    /** How long a delivered message may go without an ack before it is redelivered. */
    private Duration ackWait;

    /** How long processed message ids are kept for de-duplication. */
    private Duration idempotencyWindow;

    public Integer getReplicas() {
      return replicas;
    }

    public void setReplicas(Integer replicas) {
      this.replicas = replicas;
    }

    public Long getHardLimit() {
      return hardLimit;
    }

    public void setHardLimit(Long hardLimit) {
      this.hardLimit = hardLimit;
    }

    public Integer getStandingBuffer() {
      return standingBuffer;
    }

    public void setStandingBuffer(Integer standingBuffer) {
      this.standingBuffer = standingBuffer;
    }

    public Duration getAckWait() {
      return ackWait;
    }

    public void setAckWait(Duration ackWait) {
      this.ackWait = ackWait;
    }

    public Duration getIdempotencyWindow() {
      return idempotencyWindow;
    }

    public void setIdempotencyWindow(Duration idempotencyWindow) {
      this.idempotencyWindow = idempotencyWindow;
    }
  }

  /** Defaults for the workers of {@code @SluiceListener} methods. */
  public static class Listener {
    /** Whether {@code @SluiceListener} methods start workers. */
    private boolean enabled = true;

    /** How long a stopping worker waits for in-flight handlers before it NAKs them. */
    private Duration shutdownGrace;

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public Duration getShutdownGrace() {
      return shutdownGrace;
    }

    public void setShutdownGrace(Duration shutdownGrace) {
      this.shutdownGrace = shutdownGrace;
    }
  }

  /** Settings of the producers that {@link SluiceTemplate} opens, one per queue. */
  public static class Producer {
    /** How long a send waits for a credit before it fails with CreditTimeoutException. */
    private Duration acquireTimeout;

    public Duration getAcquireTimeout() {
      return acquireTimeout;
    }

    public void setAcquireTimeout(Duration acquireTimeout) {
      this.acquireTimeout = acquireTimeout;
    }
  }
}
