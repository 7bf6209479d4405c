package dev.sluice.samples.orders;

import dev.sluice.QuietPullErrorListener;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;

/** How the samples connect to NATS. */
public final class SampleConnections {
  private SampleConnections() {}

  /**
   * A connection that reconnects forever and logs jnats' warnings, except the "408 Request Timeout"
   * of an expired pull request: Sluice's workers and producers pull with an expiry, so an idle
   * queue produces one of those per pull, and they mean nothing more than "no message yet".
   */
  public static Connection connect(String url, String name)
      throws IOException, InterruptedException {
    return Nats.connect(
        Options.builder()
            .server(url)
            .connectionName(name)
            .maxReconnects(-1)
            .errorListener(new QuietPullErrorListener())
            .build());
  }
}
