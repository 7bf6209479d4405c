package dev.sluice.cli;

import dev.sluice.internal.wire.Protocol;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.MessageInfo;
import io.nats.client.impl.Headers;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/** Reads stored messages without consuming them (the STREAM.MSG.GET API, next by subject). */
final class Messages {
  static final int NO_MESSAGE = 10037;

  private Messages() {}

  /** Up to {@code max} messages of {@code subject} from {@code startSeq} on. */
  static List<MessageInfo> read(
      JetStreamManagement jsm, String stream, String subject, long startSeq, int max)
      throws Exception {
    List<MessageInfo> out = new ArrayList<>();
    long seq = Math.max(1, startSeq);
    while (out.size() < max) {
      MessageInfo mi;
      try {
        mi = jsm.getNextMessage(stream, seq, subject);
      } catch (JetStreamApiException e) {
        if (e.getApiErrorCode() == NO_MESSAGE || e.getErrorCode() == 404) {
          break;
        }
        throw e;
      }
      if (mi == null || !mi.isMessage()) {
        break;
      }
      out.add(mi);
      seq = mi.getSeq() + 1;
    }
    return out;
  }

  /** One message by sequence, or null. */
  static MessageInfo get(JetStreamManagement jsm, String stream, long seq) throws Exception {
    try {
      return jsm.getMessage(stream, seq);
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == NO_MESSAGE || e.getErrorCode() == 404) {
        return null;
      }
      throw e;
    }
  }

  static String first(Headers h, String name) {
    if (h == null) {
      return null;
    }
    List<String> v = h.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  static Map<String, Object> headers(Headers h) {
    Map<String, Object> m = Json.obj();
    if (h != null) {
      for (String k : h.keySet()) {
        List<String> v = h.get(k);
        m.put(k, v.size() == 1 ? v.get(0) : v);
      }
    }
    return m;
  }

  /** The payload as text when it is printable UTF-8, else base64; truncated to {@code max}. */
  static void payload(Map<String, Object> m, byte[] data, int max) {
    data = data == null ? new byte[0] : data;
    m.put("size", data.length);
    String text = null;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(data))
              .toString();
      for (int i = 0; i < text.length(); i++) {
        char c = text.charAt(i);
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
          text = null;
          break;
        }
      }
    } catch (CharacterCodingException e) {
      text = null;
    }
    if (text != null) {
      m.put("payload_encoding", "utf8");
      m.put("payload", max > 0 && text.length() > max ? text.substring(0, max) + "…" : text);
    } else {
      String b = Base64.getEncoder().encodeToString(data);
      m.put("payload_encoding", "base64");
      m.put("payload", max > 0 && b.length() > max ? b.substring(0, max) + "…" : b);
    }
  }

  /** The decoded Sluice headers of a work message. */
  static Map<String, Object> work(MessageInfo mi, long now, int payloadMax) {
    Headers h = mi.getHeaders();
    Map<String, Object> m = Json.obj();
    m.put("seq", mi.getSeq());
    long t = mi.getTime().toInstant().toEpochMilli();
    m.put("time_unix_ms", t);
    m.put("age_ms", Math.max(0, now - t));
    m.put("msg_id", first(h, Protocol.H_MSG_ID));
    m.put("protocol", first(h, Protocol.H_PROTOCOL));
    m.put("type", first(h, Protocol.H_TYPE));
    m.put("type_version", first(h, Protocol.H_TYPE_VERSION));
    m.put("content_type", first(h, Protocol.H_CONTENT_TYPE));
    m.put("producer", first(h, Protocol.H_PRODUCER));
    m.put("sent_at", first(h, Protocol.H_SENT_AT));
    m.put("replay_of", first(h, Protocol.H_REPLAY_OF));
    m.put("traceparent", first(h, Protocol.H_TRACEPARENT));
    m.put("headers", headers(h));
    payload(m, mi.getData(), payloadMax);
    return m;
  }
}
