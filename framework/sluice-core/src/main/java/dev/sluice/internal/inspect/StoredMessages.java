package dev.sluice.internal.inspect;

import dev.sluice.StoredMessage;
import dev.sluice.internal.nats.ApiErrors;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.MessageInfo;
import io.nats.client.impl.Headers;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Reads stored messages without consuming them (the message-get API, next by subject). */
public final class StoredMessages {
  private StoredMessages() {}

  /** Up to {@code max} messages of {@code subject} in {@code stream} from {@code startSeq} on. */
  public static List<StoredMessage> read(
      JetStreamManagement jsm, String stream, String subject, long startSeq, int max)
      throws IOException, JetStreamApiException {
    List<StoredMessage> out = new ArrayList<>();
    long seq = Math.max(1, startSeq);
    while (out.size() < max) {
      MessageInfo mi;
      try {
        mi = jsm.getNextMessage(stream, seq, subject);
      } catch (JetStreamApiException e) {
        if (ApiErrors.noMessage(e)) {
          break;
        }
        throw e;
      }
      if (mi == null || !mi.isMessage()) {
        break;
      }
      out.add(of(mi));
      seq = mi.getSeq() + 1;
    }
    return out;
  }

  /** The message at {@code seq} in {@code stream}, if there is one. */
  public static Optional<StoredMessage> get(JetStreamManagement jsm, String stream, long seq)
      throws IOException, JetStreamApiException {
    try {
      MessageInfo mi = jsm.getMessage(stream, seq);
      return mi == null || !mi.isMessage() ? Optional.empty() : Optional.of(of(mi));
    } catch (JetStreamApiException e) {
      if (ApiErrors.noMessage(e)) {
        return Optional.empty();
      }
      throw e;
    }
  }

  static StoredMessage of(MessageInfo mi) {
    return new StoredMessage(
        mi.getSeq(),
        mi.getSubject(),
        mi.getTime().toInstant(),
        headers(mi.getHeaders()),
        mi.getData());
  }

  static Map<String, List<String>> headers(Headers h) {
    Map<String, List<String>> m = new LinkedHashMap<>();
    if (h != null) {
      for (String k : h.keySet()) {
        m.put(k, h.get(k));
      }
    }
    return m;
  }

  /** The headers of {@code m} as jnats headers, in order. */
  static Headers toHeaders(StoredMessage m) {
    Headers h = new Headers();
    m.headers().forEach(h::put);
    return h;
  }
}
