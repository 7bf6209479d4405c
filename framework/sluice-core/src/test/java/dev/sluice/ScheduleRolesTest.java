package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.Permissions.Role;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.ErrorListener;
import io.nats.client.Options;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A producer's permissions are enough to schedule, cancel and fire (§13, §2.1). */
class ScheduleRolesTest {
  static final String Q = "sched-roles";
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  @RegisterExtension
  static final NatsServerExtension NATS = NatsServerExtension.withConfig(config());

  static String[] config() {
    List<String> l = new ArrayList<>();
    l.add("authorization {");
    l.add("  users = [");
    l.add("    { user: admin, password: admin }");
    RolesTest.user(l, "producer", Role.PRODUCER, Q);
    RolesTest.user(l, "worker", Role.WORKER, Q);
    l.add("  ]");
    l.add("}");
    return l.toArray(new String[0]);
  }

  static Connection connect(String user, List<String> errors) throws Exception {
    return NATS.server()
        .connect(
            new Options.Builder()
                .userInfo(user, user)
                .errorListener(
                    new ErrorListener() {
                      @Override
                      public void errorOccurred(Connection conn, String error) {
                        errors.add(error);
                      }
                    }));
  }

  @Test
  void aProducerUserSchedulesCancelsAndFires() throws Exception {
    List<String> errors = new CopyOnWriteArrayList<>();
    AtomicInteger handled = new AtomicInteger();
    try (Connection admin =
            NATS.server().connect(new Options.Builder().userInfo("admin", "admin"));
        Connection wc = connect("worker", errors);
        Connection pc = connect("producer", errors);
        Connection fc = connect("producer", errors)) {
      Sluice.using(admin).provision(QueueSpec.of(Q));
      try (Worker w =
              Sluice.using(wc)
                  .worker(Q)
                  .handle(JOB, (s, c) -> handled.incrementAndGet())
                  .reconciler(Duration.ofMillis(300))
                  .start();
          QueueProducer p = Sluice.using(pc).producer(Q).build();
          Scheduler s =
              Sluice.using(fc).scheduler(Q).leaseInterval(Duration.ofMillis(300)).start()) {
        ScheduledSend cancelled = p.sendAfter(OutgoingMessage.of(JOB, "x"), Duration.ofSeconds(30));
        for (int i = 0; i < 10; i++) {
          p.sendAfter(OutgoingMessage.of(JOB, "job-" + i), Duration.ofMillis(500));
        }
        assertThat(p.cancel(cancelled.messageId())).isTrue();

        await().atMost(Duration.ofSeconds(20)).until(() -> handled.get() == 10);
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> Sluice.using(admin).schedules(Q).count() == 0);
        assertThat(s.fired()).isEqualTo(10);
        assertThat(errors).isEmpty();
      }
    }
  }
}
