package dev.sluice.internal.credit;

import dev.sluice.internal.proto.MintReason;
import dev.sluice.internal.wire.Protocol;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Mints a new queue's standing buffer at provisioning. */
public final class Bootstrap {
  private static final Logger LOG = LoggerFactory.getLogger(Bootstrap.class);

  private Bootstrap() {}

  /**
   * Mints {@code credits} when the queue holds no tokens and no backlog and has no reconciler yet:
   * a fresh queue. On a queue already in use the reconciler keeps the floor instead.
   */
  public static void mintStandingBuffer(Connection nc, String queue, int credits, int batch)
      throws IOException, JetStreamApiException {
    JetStreamManagement jsm = nc.jetStreamManagement();
    if (Ledgers.tokens(jsm, queue) > 0 || Ledgers.backlog(jsm, queue) > 0) {
      return;
    }
    var lease = nc.keyValue(Protocol.CONTROL_BUCKET).get(Protocol.reconcilerKey(queue));
    if (lease != null) {
      return;
    }
    new TokenMinter(nc.jetStream(), queue, "provision")
        .mint(credits, batch, MintReason.MINT_REASON_BOOTSTRAP);
    LOG.info("minted a standing buffer of {} credits for queue {}", credits, queue);
  }
}
