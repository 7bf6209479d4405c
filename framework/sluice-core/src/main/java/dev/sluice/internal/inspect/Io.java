package dev.sluice.internal.inspect;

import dev.sluice.SluiceException;
import io.nats.client.JetStreamApiException;
import java.io.IOException;

/** Turns jnats' checked exceptions into a {@link SluiceException} that says what was being done. */
final class Io {
  /** A call to the server. */
  @FunctionalInterface
  interface Call<T> {
    T run() throws IOException, JetStreamApiException, InterruptedException;
  }

  private Io() {}

  static <T> T call(String what, Call<T> call) {
    try {
      return call.run();
    } catch (IOException | JetStreamApiException e) {
      throw new SluiceException(what + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SluiceException(what + " was interrupted", e);
    }
  }
}
