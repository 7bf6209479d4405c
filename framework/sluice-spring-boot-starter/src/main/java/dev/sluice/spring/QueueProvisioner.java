package dev.sluice.spring;

import dev.sluice.QueueSpec;
import dev.sluice.Sluice;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.InitializingBean;

/**
 * Provisions the queues of {@code sluice.queues.*} when the context starts, before any listener
 * worker or producer uses them. Provisioning is idempotent: every instance of the application does
 * it, and the first one creates what is missing.
 */
public class QueueProvisioner implements InitializingBean {
  private static final Logger LOG = LoggerFactory.getLogger(QueueProvisioner.class);

  private final Sluice sluice;
  private final Map<String, SluiceProperties.Queue> queues;

  public QueueProvisioner(Sluice sluice, Map<String, SluiceProperties.Queue> queues) {
    this.sluice = sluice;
    this.queues = Map.copyOf(queues);
  }

  @Override
  public void afterPropertiesSet() {
    queues.forEach(
        (name, q) -> {
          sluice.provision(spec(name, q));
          LOG.info("Sluice queue {} provisioned", name);
        });
  }

  static QueueSpec spec(String name, SluiceProperties.Queue q) {
    QueueSpec.Builder b = QueueSpec.builder(name);
    if (q.getReplicas() != null) {
      b.replicas(q.getReplicas());
    }
    if (q.getHardLimit() != null) {
      b.hardLimit(q.getHardLimit());
    }
    if (q.getStandingBuffer() != null) {
      b.standingBuffer(q.getStandingBuffer());
    }
    if (q.getAckWait() != null) {
      b.ackWait(q.getAckWait());
    }
    if (q.getIdempotencyWindow() != null) {
      b.idempotencyWindow(q.getIdempotencyWindow());
    }
    return b.build();
  }
}
