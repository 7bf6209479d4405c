package dev.sluice.cli;

import dev.sluice.SluiceHeaders;
import dev.sluice.StoredMessage;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/** The {@code --json} shapes of stored messages: headers, payload as text or base64. */
final class Messages {
  private Messages() {}

  /** The first value of header {@code name}, or null (JSON shows it as null). */
  static String first(StoredMessage m, String name) {
    return m.header(name).orElse(null);
  }

  /**
   * Header {@code name} as a number (protocol, type version, sent-at are decimal integers), or null
   * when absent or not a number: the raw value is still in {@code headers}.
   */
  static Long number(StoredMessage m, String name) {
    String v = first(m, name);
    if (v == null) {
      return null;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  static Map<String, Object> headers(StoredMessage msg) {
    Map<String, Object> m = Json.obj();
    for (Map.Entry<String, List<String>> e : msg.headers().entrySet()) {
      List<String> v = e.getValue();
      m.put(e.getKey(), v.size() == 1 ? v.get(0) : v);
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
  static Map<String, Object> work(StoredMessage h, long now, int payloadMax) {
    Map<String, Object> m = Json.obj();
    m.put("seq", h.sequence());
    long t = h.storedAt().toEpochMilli();
    m.put("time_unix_ms", t);
    m.put("age_ms", Math.max(0, now - t));
    m.put("msg_id", first(h, SluiceHeaders.MSG_ID));
    m.put("protocol", number(h, SluiceHeaders.PROTOCOL));
    m.put("type", first(h, SluiceHeaders.TYPE));
    m.put("type_version", number(h, SluiceHeaders.TYPE_VERSION));
    m.put("content_type", first(h, SluiceHeaders.CONTENT_TYPE));
    m.put("producer", first(h, SluiceHeaders.PRODUCER));
    m.put("sent_at", number(h, SluiceHeaders.SENT_AT));
    m.put("replay_of", first(h, SluiceHeaders.REPLAY_OF));
    m.put("traceparent", first(h, SluiceHeaders.TRACEPARENT));
    m.put("headers", headers(h));
    payload(m, h.data(), payloadMax);
    return m;
  }
}
