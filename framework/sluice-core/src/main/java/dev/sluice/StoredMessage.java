package dev.sluice;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A message as a stream stores it, read without consuming it (for example by {@link
 * Sluice#peek(String, long, int)}). Headers keep their order and exact spelling; see {@link
 * SluiceHeaders} for Sluice's names. Immutable and thread-safe: the payload is copied in and out.
 *
 * @param sequence the message's sequence in its stream
 * @param subject the subject it was published to
 * @param storedAt when the stream stored it
 * @param headers every header and its values, in the order they were sent
 * @param data the payload (a copy)
 */
public record StoredMessage(
    long sequence,
    String subject,
    Instant storedAt,
    Map<String, List<String>> headers,
    byte[] data) {

  /** Copies the headers and the payload; rejects nulls. */
  public StoredMessage {
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(storedAt, "storedAt");
    Map<String, List<String>> copy = new LinkedHashMap<>();
    headers.forEach((k, v) -> copy.put(k, List.copyOf(v)));
    headers = java.util.Collections.unmodifiableMap(copy);
    data = data == null ? new byte[0] : data.clone();
  }

  /** The payload (a copy). */
  @Override
  public byte[] data() {
    return data.clone();
  }

  /** The first value of header {@code name} (exact spelling), if present. */
  public Optional<String> header(String name) {
    List<String> v = headers.get(name);
    return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StoredMessage m
        && m.sequence == sequence
        && m.subject.equals(subject)
        && m.storedAt.equals(storedAt)
        && m.headers.equals(headers)
        && java.util.Arrays.equals(m.data, data);
  }

  @Override
  public int hashCode() {
    return Objects.hash(sequence, subject, storedAt, headers, java.util.Arrays.hashCode(data));
  }

  @Override
  public String toString() {
    return "StoredMessage[sequence="
        + sequence
        + ", subject="
        + subject
        + ", storedAt="
        + storedAt
        + ", headers="
        + headers
        + ", "
        + data.length
        + " bytes]";
  }
}
