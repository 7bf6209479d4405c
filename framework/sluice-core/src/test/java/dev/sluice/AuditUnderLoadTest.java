package dev.sluice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.internal.proto.Ledger;
import dev.sluice.internal.proto.ReconcilerLease;
import dev.sluice.internal.wire.Protocol;
import dev.sluice.spi.Codec;
import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import io.nats.client.KeyValue;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.KeyValueWatcher;
import io.nats.client.impl.NatsKeyValueWatchSubscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The reconciler's reading under load (protocol §5.5 [v1.3]). Its own worker's finishing acks are
 * sent plain and the server takes them from a queue, so under load a message whose ack was just
 * sent is still in the backlog: counted there and again in the worker's owed credits, such acks
 * read as a surplus as large as the server's ack queue. The audit therefore holds the finishing
 * acks back while it reads the backlog, confirms the acks sent before it first, and counts none
 * sent after the backlog's answer. On the producers' side, a producer holding several tokens
 * reports once per maintenance cycle, and what it spends meanwhile is in the backlog and in the
 * tokens but not yet reported: the burn tolerance adds what the held tokens carry beyond the
 * reported spent credits ("What the producers hold unreported"), the held tokens read before the
 * backlog and after the tokens, the reports after both. And a credit is reported spent only once
 * its publish is stored (§6.1): a publish in progress is not in the backlog yet. A false surplus
 * that two audits agree on burns credits that exist (or announces them as a debt): the window
 * shrinks and producers wait for credits until later audits mint them back; a false deficit mints
 * credits above the window.
 */
class AuditUnderLoadTest {
  @RegisterExtension static final NatsServerExtension NATS = NatsServerExtension.create();
  static final Codec<String> JOB = Codec.utf8(Queues.TYPE, 1);
  static final Duration AUDIT = Duration.ofMillis(200);
  static final Duration LOAD = Duration.ofSeconds(5);
  static final int SENDERS = 64;
  static final int TOKEN = 32;

  /**
   * One worker (a window of 256, token batch 32, audits every 200 ms, a handler that does nothing)
   * and one producer with 64 senders that never stop for 5 s. Nothing loses or creates a credit, so
   * every audit made while the load runs must read the producer, and corrects nothing but for the
   * readings the protocol cannot make at one instant (§5.5, §5.6). A correction is a burn, a debt
   * (credits that exist taken out, a shrunken window) or a mint of a token (32 credits) or more
   * beyond the fresh queue's first mint of the window (credits minted above the window). At most
   * one correction in the run, of under two tokens, is accepted: a token pulled after the first
   * reading of the held tokens and acked before the second is in the tokens and in neither reading
   * (a false surplus past the tolerance), and credits stored after the backlog is read and reported
   * before the reports are read are a deficit that two audits in a row can read (§5.6). Both are
   * rare under this load (one correction in about 15 runs: a burn of 8, a mint of 39); a mint under
   * one token is not counted. Without the revision-1.3 reading and tolerance every run corrected
   * credits, several times (about 74–135 credits burned a run).
   */
  @Test
  void theReconcilerSeesNoSurplusUnderLoad() throws Exception {
    String q = NATS.uniqueName("audit");
    try (Connection nc = NATS.server().connect();
        Connection pc = NATS.server().connect();
        Connection wc = NATS.server().connect()) {
      Sluice sluice = Sluice.using(nc);
      sluice.provision(QueueSpec.builder(q).tokenBatch(TOKEN).build());

      // Every audit's ledger, as written to the lease (each is written again with the next claim of
      // the lease: one per audit time).
      Map<Long, Ledger> ledgers = new ConcurrentSkipListMap<>();
      KeyValue control = nc.keyValue(Protocol.CONTROL_BUCKET);
      NatsKeyValueWatchSubscription watch =
          control.watch(
              Protocol.reconcilerKey(q),
              new KeyValueWatcher() {
                @Override
                public void watch(KeyValueEntry e) {
                  if (e.getValue() == null || e.getValue().length == 0) {
                    return;
                  }
                  try {
                    ReconcilerLease lease = ReconcilerLease.parseFrom(e.getValue());
                    if (lease.hasLast()) {
                      ledgers.put(lease.getLast().getAuditUnixMs(), lease.getLast());
                    }
                  } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
                    throw new IllegalStateException(ex);
                  }
                }

                @Override
                public void endOfData() {}
              });
      AtomicLong handled = new AtomicLong();
      long window = 256;
      AtomicBoolean stop = new AtomicBoolean();
      List<Thread> senders = new ArrayList<>();
      long loadFrom;
      long loadTo;
      try (Worker w =
              Sluice.using(wc)
                  .worker(q)
                  .workerId("audit-w")
                  .handle(JOB, (body, ctx) -> handled.incrementAndGet())
                  .concurrency(8)
                  .prefetch((int) window - 8)
                  .reconciler(AUDIT)
                  .start();
          QueueProducer p =
              Sluice.using(pc)
                  .producer(q)
                  .producerId("audit-p")
                  .acquireTimeout(Duration.ofSeconds(30))
                  .build()) {
        assertThat(w.advertisedCapacity()).isEqualTo(window);
        // The first audit of the fresh queue mints the window (§5.5).
        await().atMost(Duration.ofSeconds(10)).until(() -> Queues.tokens(nc, q) == window);

        long started = System.currentTimeMillis();
        for (int s = 0; s < SENDERS; s++) {
          int first = s;
          Thread t =
              new Thread(
                  () -> {
                    for (int n = first; !stop.get(); n += SENDERS) {
                      p.send(OutgoingMessage.of(JOB, "m" + n));
                    }
                  },
                  "sender-" + s);
          t.start();
          senders.add(t);
        }
        // A producer writes its first report at its first settle once it holds tokens (§6.1): the
        // audits before the reconciler has read it are not judged. The load period starts with
        // the first audit that counts the producer.
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () ->
                    ledgers.values().stream()
                        .anyMatch(l -> l.getAuditUnixMs() > started && l.getLiveProducers() == 1));
        loadFrom =
            ledgers.values().stream()
                    .filter(l -> l.getAuditUnixMs() > started && l.getLiveProducers() == 1)
                    .mapToLong(Ledger::getAuditUnixMs)
                    .min()
                    .getAsLong()
                - 1;
        Thread.sleep(LOAD.toMillis()); // the load period, a duration
        loadTo = System.currentTimeMillis();
        stop.set(true);
        for (Thread t : senders) {
          t.join(Duration.ofSeconds(30).toMillis());
          assertThat(t.isAlive()).as("sender %s stopped", t.getName()).isFalse();
        }
      } finally {
        watch.unsubscribe();
      }

      // The audits made under load, with the producer live (its report gives the tolerance of
      // §5.5; once it has closed, the tolerance is 0 and the audits of the drain are not judged).
      List<Ledger> underLoad =
          ledgers.values().stream()
              .filter(l -> l.getAuditUnixMs() > loadFrom && l.getAuditUnixMs() < loadTo)
              .toList();
      long firstMintAt =
          ledgers.values().stream()
              .filter(l -> l.getMinted() > 0)
              .mapToLong(Ledger::getAuditUnixMs)
              .min()
              .orElse(-1);
      System.out.printf(
          "audit under load: %d messages handled, %d audits; deficits %s; owed %s; mints %s%n",
          handled.get(),
          underLoad.size(),
          underLoad.stream().map(Ledger::getDeficit).toList(),
          underLoad.stream().map(Ledger::getOwed).toList(),
          underLoad.stream().filter(l -> l.getMinted() > 0).map(Ledger::getMinted).toList());
      assertThat(underLoad).as("audits in %s of load", LOAD).hasSizeGreaterThanOrEqualTo(10);
      assertThat(
              underLoad.stream()
                  .filter(l -> l.getLiveProducers() != 1)
                  .map(l -> l.getAuditUnixMs() - loadFrom)
                  .toList())
          .as("audits without the producer's report (ms into the load)")
          .isEmpty();
      List<Ledger> corrections =
          underLoad.stream()
              .filter(
                  l ->
                      l.getBurned() > 0
                          || l.getDebtAnnounced() > 0
                          || (l.getMinted() >= TOKEN
                              && !(l.getAuditUnixMs() == firstMintAt && l.getMinted() == window)))
              .toList();
      List<String> described = corrections.stream().map(AuditUnderLoadTest::describe).toList();
      assertThat(described)
          .as("%d messages handled; the reconciler corrected credits nobody lost", handled.get())
          .hasSizeLessThanOrEqualTo(1);
      assertThat(
              corrections.stream()
                  .mapToLong(l -> Math.max(l.getMinted(), l.getBurned() + l.getDebtAnnounced()))
                  .max()
                  .orElse(0))
          .as("the largest correction under load (%s)", described)
          .isLessThan(2L * TOKEN);
    }
  }

  private static String describe(Ledger l) {
    return String.format(
        "minted %d burned %d announced %d (window %d backlog %d tokens %d held_spent %d owed %d"
            + " deficit %d)",
        l.getMinted(),
        l.getBurned(),
        l.getDebtAnnounced(),
        l.getWindow(),
        l.getBacklog(),
        l.getTokens(),
        l.getHeldSpent(),
        l.getOwed(),
        l.getDeficit());
  }
}
