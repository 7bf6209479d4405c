package dev.sluice.spi;

import dev.sluice.SluiceException;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.KeyValue;
import io.nats.client.Message;
import io.nats.client.api.MessageInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** The shared idempotency store: KV bucket {@code sluice-processed} behind a local cache (§9). */
final class KvIdempotencyStore implements IdempotencyStore {
  // A create of a key that exists fails with "wrong last sequence": 10071 from nats-server 2.9
  // and 2.10, 10164 from 2.11 on (where the expected sequence is 0, as in a create).
  private static final int KEY_EXISTS = 10071;
  private static final int KEY_EXISTS_SINCE_2_11 = 10164;
  private static final int NO_MESSAGE_FOUND = 10037;
  private static final String STREAM = "KV_" + SHARED_BUCKET;
  private static final String KV_OPERATION = "KV-Operation";
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(2);
  private final Connection nc;
  private final KeyValue kv;
  private final IdempotencyStore local;

  KvIdempotencyStore(Connection nc, IdempotencyStore local) {
    this.nc = nc;
    this.local = local;
    try {
      this.kv = nc.keyValue(SHARED_BUCKET);
    } catch (IOException e) {
      throw new SluiceException("cannot open KV bucket " + SHARED_BUCKET + ": " + e, e);
    }
  }

  @Override
  public boolean isProcessed(String key) {
    if (local.isProcessed(key)) {
      return true;
    }
    try {
      boolean seen = storedByLeader(key);
      if (seen) {
        local.markProcessed(key, "");
      }
      return seen;
    } catch (IOException | JetStreamApiException e) {
      throw new SluiceException("idempotency store unreachable: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SluiceException("interrupted while reading the idempotency store", e);
    }
  }

  /**
   * Reads the key through the stream's leader. The bucket allows direct gets, which any replica
   * answers from its own store: a replica that is catching up (after a pause or a partition)
   * answers "not found" for a record the leader has, and a redelivered message ran its handler
   * again. Only the leader's answer includes every acknowledged record.
   */
  private boolean storedByLeader(String key)
      throws IOException, JetStreamApiException, InterruptedException {
    String subject = "$KV." + SHARED_BUCKET + "." + key;
    byte[] request = ("{\"last_by_subj\":\"" + subject + "\"}").getBytes(StandardCharsets.UTF_8);
    Message reply = nc.request("$JS.API.STREAM.MSG.GET." + STREAM, request, READ_TIMEOUT);
    if (reply == null) {
      throw new IOException("no answer from the leader of " + STREAM + " in " + READ_TIMEOUT);
    }
    MessageInfo info = new MessageInfo(reply, STREAM, false);
    if (info.hasError()) {
      if (info.getApiErrorCode() == NO_MESSAGE_FOUND) {
        return false;
      }
      info.throwOnHasError();
    }
    String op = info.getHeaders() == null ? null : info.getHeaders().getFirst(KV_OPERATION);
    return op == null || op.equals("PUT");
  }

  @Override
  public boolean markProcessed(String key, String workerId) {
    local.markProcessed(key, workerId);
    byte[] value = (workerId + " " + System.currentTimeMillis()).getBytes(StandardCharsets.UTF_8);
    try {
      kv.create(key, value);
      return true; // acknowledged: stored by a quorum of the bucket's replicas
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == KEY_EXISTS || e.getApiErrorCode() == KEY_EXISTS_SINCE_2_11) {
        requireStoredByLeader(key);
        return false; // recorded before: a late or concurrent completion
      }
      throw new SluiceException("idempotency store refused " + key + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new SluiceException("idempotency store unreachable: " + e.getMessage(), e);
    }
  }

  /**
   * Returns when the leader has {@code key} stored, after a create was refused because it exists;
   * throws otherwise. The refusal alone is no proof: a leader cut off from its quorum (partitioned,
   * or just thawed after a pause) checks a create against its own writes, including one that timed
   * out and will never be committed, and refuses the retry; the write is then dropped when the node
   * rejoins, and a redelivery ran the handler again. A leader without the key stored means "not
   * recorded yet": the caller retries.
   */
  private void requireStoredByLeader(String key) {
    boolean stored;
    try {
      stored = storedByLeader(key);
    } catch (IOException | JetStreamApiException e) {
      throw new SluiceException(
          "idempotency store unreachable: "
              + key
              + " was refused as existing, and reading it"
              + " back failed: "
              + e.getMessage(),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SluiceException("interrupted while reading the idempotency store", e);
    }
    if (!stored) {
      throw new SluiceException(
          "idempotency store: "
              + key
              + " was refused as existing but its leader has not stored it (a write not yet"
              + " committed); retrying");
    }
  }
}
