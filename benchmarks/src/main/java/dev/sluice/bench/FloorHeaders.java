package dev.sluice.bench;

import io.nats.client.NUID;
import io.nats.client.impl.Headers;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A header block for the floor pipelines of {@code credit-overhead} ({@code raw-id}, {@code
 * raw-wire}, {@code raw-compact}): the lines in two arrays, written by jnats' writer thread
 * straight into its output buffer, as the Sluice producer's own block is. jnats reads a block it
 * publishes only through {@link #isEmpty}, {@link #isReadOnly}, {@link #serializedLength} and
 * {@link #serializeToArray}; the block reports read-only so that jnats keeps it as it is. Not
 * thread-safe until handed to jnats; never changed afterwards.
 *
 * <p>Rejected: jnats' plain {@code Headers} (two HashMaps and a validated copy of every value per
 * send, and a full copy at publish): it would put into the floor a client cost that the Sluice
 * producer does not pay, and so understate Sluice's own overhead.
 */
final class FloorHeaders extends Headers {
  private static final byte[] VERSION_LINE = "NATS/1.0\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private final String[] names = new String[8];
  private final String[] values = new String[8];
  private int lines;
  private int length = VERSION_LINE.length + 2; // and the closing CRLF

  FloorHeaders() {
    super(null, true, null); // read-only and empty: the superclass allocates no maps
  }

  FloorHeaders add(String name, String value) {
    names[lines] = name;
    values[lines] = value;
    lines++;
    length += name.length() + value.length() + 3;
    return this;
  }

  /** A fresh random message id, as a Sluice producer makes one (a NUID). */
  static String messageId() {
    return NUID.nextGlobal();
  }

  /**
   * A new trace's {@code traceparent} with flags {@code 00}, as a producer without OpenTelemetry.
   */
  static String traceparent() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    char[] c = new char[55];
    c[0] = '0';
    c[1] = '0';
    c[2] = '-';
    hex(r.nextLong(), c, 3);
    hex(r.nextLong() | 1, c, 19);
    c[35] = '-';
    hex(r.nextLong() | 1, c, 36);
    c[52] = '-';
    c[53] = '0';
    c[54] = '0';
    return new String(c);
  }

  private static void hex(long v, char[] c, int at) {
    for (int i = at + 15; i >= at; i--) {
      c[i] = HEX[(int) (v & 0xf)];
      v >>>= 4;
    }
  }

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
  public boolean isDirty() {
    return false;
  }

  @Override
  public int serializedLength() {
    return length;
  }

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
    return length;
  }

  @Override
  public byte[] getSerialized() {
    byte[] out = new byte[length];
    serializeToArray(0, out);
    return out;
  }

  @Override
  public String getFirst(String key) {
    for (int i = 0; i < lines; i++) {
      if (names[i].equals(key)) {
        return values[i];
      }
    }
    return null;
  }
}
