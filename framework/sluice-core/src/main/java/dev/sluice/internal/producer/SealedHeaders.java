package dev.sluice.internal.producer;

import io.nats.client.impl.Headers;
import io.nats.client.support.ByteArrayBuilder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * A send's header block (PROTOCOL.md §3), built once, one value per name, and written by jnats'
 * writer thread straight into its output buffer.
 *
 * <p>jnats' own {@code Headers} keeps two HashMaps, a list per name and a validated copy of every
 * value, and serializes by walking them: a map entry, a list and a length record for each of a
 * send's nine or so lines, on the producer's path and again on the writer's. This block keeps its
 * lines in two arrays. jnats reads a block it publishes through {@link #isEmpty}, {@link
 * #isReadOnly}, {@link #serializedLength} and {@link #serializeToArray} only (jnats 2.26, {@code
 * NatsPublishableMessage} and {@code NatsMessage}); it copies a block that is not read-only with a
 * constructor that reads the superclass's private maps, which are empty here, so the block reports
 * read-only always and no copy is ever made. The other reading methods answer from a {@code
 * Headers} built on first use (tests, logs); the superclass's mutators throw, as on any read-only
 * block.
 *
 * <p>Values that Sluice produces itself (protocol version, producer id, trace ids it makes, times,
 * numbers) are set unchecked; anything a caller gave is checked by {@link #setChecked} with jnats'
 * rules (a name of printable ASCII without {@code ':'}, a value of ASCII without CR or LF). So
 * every line is ASCII, and the canonical size (§8.4) follows from the lengths.
 *
 * <p>The send's owner fills the block, {@linkplain #seal seals} it right before handing it to
 * jnats, and never changes it afterwards (a retry sends the same block: the same {@code
 * Nats-Msg-Id}). Not thread-safe until sealed; immutable afterwards.
 *
 * <p>Rejected: a plain {@code Headers} frozen by jnats (it copies both maps and every entry at each
 * publish), and pre-encoding each line to bytes when it is set (an array per line on the caller's
 * thread for a copy the writer makes anyway).
 */
final class SealedHeaders extends Headers {
  private static final byte[] VERSION_LINE = "NATS/1.0\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final int BLOCK_OVERHEAD = VERSION_LINE.length + 2; // and the closing CRLF
  private static final int CAPACITY = 12; // Sluice's own lines, and a few of the caller's

  private String[] names = new String[CAPACITY];
  private String[] values = new String[CAPACITY];
  private int lines;
  private int dataLength; // the lines as jnats writes them: name ':' value CR LF
  private boolean sealed;
  private Headers view;

  SealedHeaders() {
    super(null, true, null); // read-only and empty: the superclass allocates no maps
  }

  /**
   * Sets {@code name} to {@code value}, replacing an earlier value of the same name; unchecked: for
   * names and values that are valid by construction.
   *
   * @throws IllegalStateException once sealed
   */
  SealedHeaders set(String name, String value) {
    if (sealed) {
      throw new IllegalStateException("the header block was handed to jnats already");
    }
    view = null;
    for (int i = 0; i < lines; i++) {
      if (names[i].equals(name)) {
        dataLength += value.length() - values[i].length();
        values[i] = value;
        return this;
      }
    }
    if (lines == names.length) {
      names = Arrays.copyOf(names, lines * 2);
      values = Arrays.copyOf(values, lines * 2);
    }
    names[lines] = name;
    values[lines] = value;
    lines++;
    dataLength += name.length() + value.length() + 3;
    return this;
  }

  /**
   * {@link #set} after checking {@code name} and {@code value} as jnats checks a {@code put}.
   *
   * @throws IllegalArgumentException the name is empty or has a character outside 0x21–0x7E or a
   *     {@code ':'}, or the value has one above 0x7F, a CR or a LF
   */
  SealedHeaders setChecked(String name, String value) {
    if (name.isEmpty()) {
      throw new IllegalArgumentException("Header key cannot be null or empty.");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 33 || c > 126 || c == ':') {
        throw new IllegalArgumentException(
            "Header key has invalid character: 0x" + Integer.toHexString(c));
      }
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c > 127 || c == '\n' || c == '\r') {
        throw new IllegalArgumentException(
            "Header value has invalid character: 0x" + Integer.toHexString(c));
      }
    }
    return set(name, value);
  }

  /** From now on the block does not change, and jnats may keep it as it is. */
  SealedHeaders seal() {
    sealed = true;
    return this;
  }

  /** The canonical size of the block (§8.4: {@code ": "} between name and value): all ASCII. */
  long canonicalSize() {
    return BLOCK_OVERHEAD + dataLength + lines;
  }

  /** Always: jnats copies a block that is not read-only through maps this block leaves empty. */
  @Override
  public boolean isReadOnly() {
    return true;
  }

  @Override
  public boolean isEmpty() {
    return lines == 0;
  }

  @Override
  public int size() {
    return lines;
  }

  @Override
  public int serializedLength() {
    return BLOCK_OVERHEAD + dataLength;
  }

  @Override
  public boolean isDirty() {
    return false;
  }

  /**
   * Writes the block at {@code destPosition}; the caller made room for {@link #serializedLength}
   * bytes (jnats' writer does).
   */
  @Override
  @SuppressWarnings("deprecation") // String.getBytes(int, int, byte[], int): ASCII, no encoder
  public int serializeToArray(int destPosition, byte[] dest) {
    int p = destPosition;
    System.arraycopy(VERSION_LINE, 0, dest, p, VERSION_LINE.length);
    p += VERSION_LINE.length;
    for (int i = 0; i < lines; i++) {
      String name = names[i];
      String value = values[i];
      name.getBytes(0, name.length(), dest, p);
      p += name.length();
      dest[p++] = ':';
      value.getBytes(0, value.length(), dest, p);
      p += value.length();
      dest[p++] = '\r';
      dest[p++] = '\n';
    }
    dest[p++] = '\r';
    dest[p] = '\n';
    return serializedLength();
  }

  @Override
  public byte[] getSerialized() {
    byte[] out = new byte[serializedLength()];
    serializeToArray(0, out);
    return out;
  }

  @Override
  @Deprecated
  public ByteArrayBuilder appendSerialized(ByteArrayBuilder bab) {
    return bab.append(getSerialized());
  }

  /** The same lines as a plain read-only {@code Headers}, for the reading methods below. */
  private Headers view() {
    Headers v = view;
    if (v == null) {
      Headers h = new Headers();
      for (int i = 0; i < lines; i++) {
        h.put(names[i], values[i]);
      }
      v = new Headers(h, true);
      view = v;
    }
    return v;
  }

  @Override
  public boolean containsKey(String key) {
    return view().containsKey(key);
  }

  @Override
  public boolean containsKeyIgnoreCase(String key) {
    return view().containsKeyIgnoreCase(key);
  }

  @Override
  public Set<String> keySet() {
    return view().keySet();
  }

  @Override
  public Set<String> keySetIgnoreCase() {
    return view().keySetIgnoreCase();
  }

  @Override
  public List<String> get(String key) {
    return view().get(key);
  }

  @Override
  public String getFirst(String key) {
    return view().getFirst(key);
  }

  @Override
  public String getLast(String key) {
    return view().getLast(key);
  }

  @Override
  public List<String> getIgnoreCase(String key) {
    return view().getIgnoreCase(key);
  }

  @Override
  public void forEach(BiConsumer<String, List<String>> action) {
    view().forEach(action);
  }

  @Override
  public Set<Map.Entry<String, List<String>>> entrySet() {
    return view().entrySet();
  }

  @Override
  public Map<String, List<String>> toMap() {
    return view().toMap();
  }

  @Override
  public boolean equals(Object o) {
    if (o instanceof SealedHeaders other) {
      return view().equals(other.view());
    }
    return o instanceof Headers other && view().equals(other);
  }

  @Override
  public int hashCode() {
    return view().hashCode();
  }

  @Override
  public String toString() {
    return view().toString();
  }
}
