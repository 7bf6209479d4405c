package dev.sluice.spi;

import dev.sluice.SluiceException;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.KeyValueOperation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** The shared idempotency store: KV bucket {@code sluice-processed} behind a local cache (§9). */
final class KvIdempotencyStore implements IdempotencyStore {
  // A create of a key that exists fails with "wrong last sequence": 10071 from nats-server 2.9
  // and 2.10, 10164 from 2.11 on (where the expected sequence is 0, as in a create).
  private static final int KEY_EXISTS = 10071;
  private static final int KEY_EXISTS_SINCE_2_11 = 10164;
  private final KeyValue kv;
  private final IdempotencyStore local;

  KvIdempotencyStore(Connection nc, IdempotencyStore local) {
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
      KeyValueEntry e = kv.get(key);
      boolean seen = e != null && e.getOperation() == KeyValueOperation.PUT;
      if (seen) {
        local.markProcessed(key, "");
      }
      return seen;
    } catch (IOException | JetStreamApiException e) {
      throw new SluiceException("idempotency store unreachable: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean markProcessed(String key, String workerId) {
    local.markProcessed(key, workerId);
    byte[] value = (workerId + " " + System.currentTimeMillis()).getBytes(StandardCharsets.UTF_8);
    try {
      kv.create(key, value);
      return true;
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == KEY_EXISTS || e.getApiErrorCode() == KEY_EXISTS_SINCE_2_11) {
        return false;
      }
      throw new SluiceException("idempotency store refused " + key + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new SluiceException("idempotency store unreachable: " + e.getMessage(), e);
    }
  }
}
