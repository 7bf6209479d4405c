package dev.sluice;

import dev.sluice.internal.credit.Credits;
import dev.sluice.internal.wire.Protocol;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The JetStream topology of one queue (protocol §2), for {@link Sluice#provision(QueueSpec)}.
 * Immutable and thread-safe; the {@link Builder} is not.
 */
public final class QueueSpec {
  private final String queue;
  private final int replicas;
  private final long hardLimit;
  private final int maxMessageSize;
  private final Duration ackWait;
  private final long maxAckPending;
  private final Duration lease;
  private final int standingBuffer;
  private final int tokenBatch;
  private final int maxWorkerCapacity;
  private final int maxWindow;
  private final double ratePerSecond;
  private final int rateBurst;
  private final Duration idempotencyWindow;
  private final Duration deadLetterMaxAge;
  private final Map<String, Integer> fairnessWeights;

  private QueueSpec(Builder b) {
    this.queue = b.queue;
    this.replicas = b.replicas;
    this.hardLimit = b.hardLimit;
    this.maxMessageSize = b.maxMessageSize;
    this.ackWait = b.ackWait;
    this.maxAckPending = b.maxAckPending;
    this.lease = b.lease;
    this.standingBuffer = b.standingBuffer;
    this.tokenBatch = b.tokenBatch;
    this.maxWorkerCapacity = b.maxWorkerCapacity;
    this.maxWindow = b.maxWindow;
    this.ratePerSecond = b.ratePerSecond;
    this.rateBurst = b.rateBurst;
    this.idempotencyWindow = b.idempotencyWindow;
    this.deadLetterMaxAge = b.deadLetterMaxAge;
    this.fairnessWeights = Map.copyOf(b.fairnessWeights);
  }

  /** A builder for queue {@code queue} with every default. */
  public static Builder builder(String queue) {
    return new Builder(queue);
  }

  /** The defaults for {@code queue}. */
  public static QueueSpec of(String queue) {
    return builder(queue).build();
  }

  public String queue() {
    return queue;
  }

  /** Stream replicas (1, 3 or 5). Default 1. */
  public int replicas() {
    return replicas;
  }

  /** The work stream's {@code max_msgs} with {@code discard: new}. Default 100000. */
  public long hardLimit() {
    return hardLimit;
  }

  /** The work stream's {@code max_msg_size}. Default 1 MiB. */
  public int maxMessageSize() {
    return maxMessageSize;
  }

  /** The worker consumer's ack wait. Default 30 s. */
  public Duration ackWait() {
    return ackWait;
  }

  /** The worker consumer's {@code max_ack_pending}; must be at least the window. Default 10000. */
  public long maxAckPending() {
    return maxAckPending;
  }

  /** The credit lease: the credit consumer's ack wait. Default 10 s. */
  public Duration lease() {
    return lease;
  }

  /** Credits minted at provisioning and kept as the window's floor. Default 0. */
  public int standingBuffer() {
    return standingBuffer;
  }

  /** Token size (a power of two). Default 32. */
  public int tokenBatch() {
    return tokenBatch;
  }

  /**
   * The most capacity one worker's advert counts for in the window (protocol §5.1): a larger
   * advert, forged or misconfigured, is clamped to it by the reconciler. Default 10000.
   */
  public int maxWorkerCapacity() {
    return maxWorkerCapacity;
  }

  /**
   * The most the live adverts together count for in the window (protocol §5.1); the standing buffer
   * is not clamped. Default 10000, the worker consumer's default {@code max_ack_pending}.
   */
  public int maxWindow() {
    return maxWindow;
  }

  /**
   * The fleet-wide rate limit in messages per second (protocol §15.2): credits enter circulation no
   * faster, whatever the workers' capacity. 0 (the default) means no rate limit.
   */
  public double ratePerSecond() {
    return ratePerSecond;
  }

  /** The most messages sent at once above the rate; 0 without a rate limit. */
  public int rateBurst() {
    return rateBurst;
  }

  /** True when the queue has a rate limit. */
  public boolean rateLimited() {
    return ratePerSecond > 0;
  }

  /** Max age of processed-id records in {@code sluice-processed}. Default 1 h. */
  public Duration idempotencyWindow() {
    return idempotencyWindow;
  }

  /** Max age of dead-letter records. Default 30 days. */
  public Duration deadLetterMaxAge() {
    return deadLetterMaxAge;
  }

  /**
   * The weight of each fairness key for every producer of the queue (protocol §15.3); a producer's
   * own weight for a key wins, a key in neither has weight 1. Default none. Producers read it when
   * they start.
   */
  public Map<String, Integer> fairnessWeights() {
    return fairnessWeights;
  }

  /** Builds a {@link QueueSpec}; validates each value as it is set. Not thread-safe. */
  public static final class Builder {
    private final String queue;
    private int replicas = 1;
    private long hardLimit = 100_000;
    private int maxMessageSize = 1024 * 1024;
    private Duration ackWait = Duration.ofSeconds(30);
    private long maxAckPending = 10_000;
    private Duration lease = Duration.ofSeconds(10);
    private int standingBuffer = 0;
    private int tokenBatch = 32;
    private int maxWorkerCapacity = 10_000;
    private int maxWindow = 10_000;
    private double ratePerSecond = 0;
    private int rateBurst = 0;
    private Duration idempotencyWindow = Duration.ofHours(1);
    private Duration deadLetterMaxAge = Duration.ofDays(30);
    private final Map<String, Integer> fairnessWeights = new TreeMap<>();

    private Builder(String queue) {
      this.queue = Protocol.requireQueueName(queue);
    }

    public Builder replicas(int replicas) {
      if (replicas != 1 && replicas != 3 && replicas != 5) {
        throw new IllegalArgumentException("replicas must be 1, 3 or 5, got " + replicas);
      }
      this.replicas = replicas;
      return this;
    }

    public Builder hardLimit(long hardLimit) {
      if (hardLimit < 1) {
        throw new IllegalArgumentException("hardLimit < 1");
      }
      this.hardLimit = hardLimit;
      return this;
    }

    public Builder maxMessageSize(int bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("maxMessageSize < 1");
      }
      this.maxMessageSize = bytes;
      return this;
    }

    public Builder ackWait(Duration ackWait) {
      this.ackWait = positive("ackWait", ackWait);
      return this;
    }

    public Builder maxAckPending(long maxAckPending) {
      if (maxAckPending < 1) {
        throw new IllegalArgumentException("maxAckPending < 1");
      }
      this.maxAckPending = maxAckPending;
      return this;
    }

    public Builder lease(Duration lease) {
      this.lease = positive("lease", lease);
      if (lease.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new IllegalArgumentException("lease < 1s: producers could not extend it in time");
      }
      return this;
    }

    public Builder standingBuffer(int standingBuffer) {
      if (standingBuffer < 0) {
        throw new IllegalArgumentException("standingBuffer < 0");
      }
      this.standingBuffer = standingBuffer;
      return this;
    }

    public Builder tokenBatch(int tokenBatch) {
      if (!Credits.isPowerOfTwo(tokenBatch) || tokenBatch > Credits.MAX_TOKEN) {
        throw new IllegalArgumentException(
            "tokenBatch must be a power of two <= 2^20, got " + tokenBatch);
      }
      this.tokenBatch = tokenBatch;
      return this;
    }

    /**
     * Sets {@link QueueSpec#maxWorkerCapacity()}.
     *
     * @throws IllegalArgumentException if {@code maxWorkerCapacity < 1}
     */
    public Builder maxWorkerCapacity(int maxWorkerCapacity) {
      if (maxWorkerCapacity < 1) {
        throw new IllegalArgumentException("maxWorkerCapacity < 1, got " + maxWorkerCapacity);
      }
      this.maxWorkerCapacity = maxWorkerCapacity;
      return this;
    }

    /**
     * Sets {@link QueueSpec#maxWindow()}.
     *
     * @throws IllegalArgumentException if {@code maxWindow < 1}
     */
    public Builder maxWindow(int maxWindow) {
      if (maxWindow < 1) {
        throw new IllegalArgumentException("maxWindow < 1, got " + maxWindow);
      }
      this.maxWindow = maxWindow;
      return this;
    }

    /**
     * Limits the whole fleet to {@code perSecond} messages per second with bursts of up to {@code
     * burst} (protocol §15.2): every worker mints credits at most at its share of the rate, and the
     * window is capped so that what circulates stays within the burst. In any interval of {@code t}
     * seconds producers that wait for credits send at most {@code burst + perSecond × t}.
     * Provisioning again with another rate changes it; without one removes it. The pacing allowance
     * {@code ceil(perSecond / 20) + workers} is taken from the burst, so choose a burst of at least
     * {@code perSecond / 10 + 2 × workers} to keep credits enough for the rate.
     *
     * @throws IllegalArgumentException if {@code perSecond} is not a finite number above 0, or
     *     {@code burst < 1}
     */
    public Builder rateLimit(double perSecond, int burst) {
      String bad = dev.sluice.internal.credit.Rates.invalid(perSecond, burst);
      if (bad != null) {
        throw new IllegalArgumentException(bad);
      }
      this.ratePerSecond = perSecond;
      this.rateBurst = burst;
      return this;
    }

    /** Removes a rate limit set on this builder (the default: none). */
    public Builder noRateLimit() {
      this.ratePerSecond = 0;
      this.rateBurst = 0;
      return this;
    }

    public Builder idempotencyWindow(Duration window) {
      this.idempotencyWindow = positive("idempotencyWindow", window);
      return this;
    }

    public Builder deadLetterMaxAge(Duration maxAge) {
      this.deadLetterMaxAge = positive("deadLetterMaxAge", maxAge);
      return this;
    }

    /**
     * Gives fairness key {@code key} weight {@code weight} for every producer of the queue (see
     * {@link QueueSpec#fairnessWeights()}).
     *
     * @throws IllegalArgumentException {@code key} is not 1-64 characters of {@code
     *     [A-Za-z0-9_.:@-]}, or {@code weight} is outside [1, 10000]
     */
    public Builder fairnessWeight(String key, int weight) {
      fairnessWeights.put(
          FairnessRules.requireKey("key", key), FairnessRules.requireWeight(key, weight));
      return this;
    }

    public QueueSpec build() {
      if (standingBuffer >= hardLimit) {
        throw new IllegalArgumentException(
            "standingBuffer " + standingBuffer + " must be below hardLimit " + hardLimit);
      }
      return new QueueSpec(this);
    }

    private static Duration positive(String name, Duration d) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be > 0, got " + d);
      }
      return d;
    }
  }
}
