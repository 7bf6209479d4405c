package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.Permissions.Role;
import dev.sluice.internal.proto.CapacityAdvert;
import dev.sluice.internal.proto.WorkerState;
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

/**
 * Producers and workers whose server users have exactly {@link Permissions} of their role: each
 * does its job end to end, and each act that would raise the window or reach another queue is
 * refused by the server.
 */
class RolesTest {
  static final String Q = "roles";
  static final String OTHER = "roles-other";
  static final String CLAMPED = "roles-clamped";
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);

  @RegisterExtension
  static final NatsServerExtension NATS = NatsServerExtension.withConfig(config());

  static String[] config() {
    List<String> l = new ArrayList<>();
    l.add("authorization {");
    l.add("  users = [");
    l.add("    { user: admin, password: admin }");
    user(l, "producer", Role.PRODUCER, Q);
    user(l, "worker", Role.WORKER, Q);
    user(l, "clampworker", Role.WORKER, CLAMPED);
    l.add("  ]");
    l.add("}");
    return l.toArray(new String[0]);
  }

  static void user(List<String> l, String name, Role role, String queue) {
    l.add("    { user: " + name + ", password: " + name + ",");
    l.addAll(Permissions.of(role, queue).toServerConfig().lines().toList());
    l.add("    }");
  }

  /** A connection as {@code user}, recording the server's errors (permission violations). */
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

  static Connection admin() throws Exception {
    return NATS.server().connect(new Options.Builder().userInfo("admin", "admin"));
  }

  @Test
  void producerAndWorkerDoTheirJobsWithTheirRolesPermissionsOnly() throws Exception {
    List<String> errors = new CopyOnWriteArrayList<>();
    AtomicInteger handled = new AtomicInteger();
    try (Connection admin = admin();
        Connection wc = connect("worker", errors);
        Connection pc = connect("producer", errors)) {
      Sluice.using(admin).provision(QueueSpec.of(Q));
      try (Worker w =
          Sluice.using(wc)
              .worker(Q)
              .concurrency(2)
              .prefetch(2)
              .handle(JOB, (s, c) -> handled.incrementAndGet())
              .sharedIdempotency()
              .reconciler(Duration.ofMillis(300))
              .start()) {
        // The reconciler (inside the worker) mints the window: reading the ledger, writing its
        // lease and minting tokens all need the worker role's subjects.
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> Sluice.using(admin).inspect(Q).tokens() == 4);
        try (QueueProducer p =
            Sluice.using(pc)
                .producer(Q)
                .acquireTimeout(Duration.ofSeconds(20))
                .idleReturn(Duration.ofMillis(200))
                .build()) {
          for (int i = 0; i < 50; i++) {
            p.send(OutgoingMessage.of(JOB, "job-" + i));
          }
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> handled.get() == 50);
        assertThat(w.processedCount()).isEqualTo(50);
        assertThat(w.isReconciler()).isTrue();
        // The producer returned a partly spent token by acking it (it may not mint): the
        // reconciler heals the deficit, so circulating credits are back to W.
        await()
            .atMost(Duration.ofSeconds(20))
            .untilAsserted(
                () -> {
                  QueueInspection in = Sluice.using(admin).inspect(Q);
                  assertThat(in.backlog()).isZero();
                  assertThat(in.tokens()).isEqualTo(in.window()).isEqualTo(4);
                });
      }
      // Without this, a role set that misses a subject Sluice uses would pass while Sluice
      // silently retried a refused call.
      assertThat(errors).noneMatch(e -> e.contains("Permissions Violation"));
    }
  }

  @Test
  void producerCannotForgeTokensOrAdverts() throws Exception {
    List<String> errors = new CopyOnWriteArrayList<>();
    try (Connection admin = admin();
        Connection pc = connect("producer", errors)) {
      Sluice.using(admin).provision(QueueSpec.of(Q));
      long before = Sluice.using(admin).inspect(Q).tokens();
      // A forged token of 1024 credits would let 1024 messages past the window.
      pc.publish("sluice.credit." + Q + ".1024", new byte[0]);
      CapacityAdvert forged =
          CapacityAdvert.newBuilder()
              .setWorkerId("forged")
              .setQueue(Q)
              .setProtocolVersion(1)
              .setCapacity(2000)
              .setState(WorkerState.WORKER_STATE_RUNNING)
              .setHeartbeatUnixMs(System.currentTimeMillis())
              .setTtlMs(600_000)
              .build();
      // A forged advert would make the reconciler mint its capacity.
      assertThatThrownBy(
              () -> pc.keyValue("sluice-capacity").put(Q + ".forged", forged.toByteArray()))
          .isInstanceOf(java.io.IOException.class);
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(
              () ->
                  assertThat(errors)
                      .anyMatch(
                          e ->
                              e.contains("Permissions Violation")
                                  && e.contains("sluice.credit." + Q + ".1024"))
                      .anyMatch(
                          e ->
                              e.contains("Permissions Violation")
                                  && e.contains("$KV.sluice-capacity." + Q + ".forged")));
      QueueInspection in = Sluice.using(admin).inspect(Q);
      assertThat(in.tokens()).isEqualTo(before);
      assertThat(in.workers()).noneMatch(a -> a.workerId().equals("forged"));
    }
  }

  @Test
  void workerCannotConsumeAnotherQueue() throws Exception {
    List<String> errors = new CopyOnWriteArrayList<>();
    try (Connection admin = admin();
        Connection wc = connect("worker", errors)) {
      Sluice.using(admin).provision(QueueSpec.of(Q));
      Sluice.using(admin).provision(QueueSpec.of(OTHER));
      Queues.rawPublish(admin, OTHER, Queues.goodHeaders(1), "x".getBytes());
      // A worker of one queue that could read another would see (and could ack) its work.
      assertThatThrownBy(
              () -> Sluice.using(wc).worker(OTHER).handle(JOB, (s, c) -> {}).noReconciler().start())
          .isInstanceOf(SluiceException.class)
          .hasMessageContaining("permission denied")
          .hasMessageContaining(OTHER);
      assertThat(Queues.backlog(admin, OTHER)).isEqualTo(1);
    }
  }

  @Test
  void aForgedHugeAdvertIsClampedToTheQueuesBounds() throws Exception {
    List<String> errors = new CopyOnWriteArrayList<>();
    try (Connection admin = admin();
        Connection wc = connect("clampworker", errors)) {
      Sluice.using(admin)
          .provision(QueueSpec.builder(CLAMPED).maxWorkerCapacity(16).maxWindow(32).build());
      try (Worker w =
          Sluice.using(wc)
              .worker(CLAMPED)
              .concurrency(2)
              .prefetch(2)
              .handle(JOB, (s, c) -> {})
              .reconciler(Duration.ofMillis(300))
              .start()) {
        CapacityAdvert forged =
            CapacityAdvert.newBuilder()
                .setWorkerId("forged")
                .setQueue(CLAMPED)
                .setProtocolVersion(1)
                .setCapacity(1_000_000)
                .setOwedCredits(1_000_000)
                .setState(WorkerState.WORKER_STATE_RUNNING)
                .setHeartbeatUnixMs(System.currentTimeMillis())
                .setTtlMs(600_000)
                .build();
        // A worker role may write adverts of its queue: the bounds are what stop this one.
        wc.keyValue("sluice-capacity").put(CLAMPED + ".forged", forged.toByteArray());
        await()
            .atMost(Duration.ofSeconds(20))
            .untilAsserted(
                () -> {
                  QueueInspection in = Sluice.using(admin).inspect(CLAMPED);
                  // 4 (the real worker) + 16 (the forged advert, clamped), not 1,000,004.
                  assertThat(in.window()).isEqualTo(20);
                  assertThat(in.bounds().clampedAdverts()).isEqualTo(1);
                  assertThat(in.bounds().maxWindow()).isEqualTo(32);
                  // The forged owed credits are clamped too: without that they would read as
                  // 1,000,000 circulating credits and the reconciler would mint nothing.
                  assertThat(in.tokens()).isEqualTo(20 - 16);
                });
        assertThat(w.isReconciler()).isTrue();
      }
    }
  }
}
