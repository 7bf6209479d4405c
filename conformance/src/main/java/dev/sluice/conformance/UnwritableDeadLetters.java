package dev.sluice.conformance;

import static dev.sluice.conformance.Fleet.spec;
import static dev.sluice.conformance.Report.LANGS;

import io.nats.client.JetStreamManagement;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.NatsMessage;
import java.time.Duration;
import java.util.List;

/**
 * PROTOCOL §8.4: while dead-letter records cannot be written, a worker keeps the message (NAKs it
 * with a short delay, never terms it) and reports itself failing; once records can be written again
 * it dead-letters the message and reports ok. Each language's worker alone on its own queue. The
 * runner makes SLUICE_DLQ unwritable by moving its subjects away (publishes then find no stream)
 * and moves them back afterwards, so the records of earlier scenarios are kept. Runs after every
 * scenario that dead-letters.
 */
final class UnwritableDeadLetters implements Scenario {
  private static final String DLQ = "SLUICE_DLQ";
  private static final String PAUSED = "sluice.dlq-paused.>";

  @Override
  public String name() {
    return "unwritable-dead-letters";
  }

  @Override
  public void run(Harness h) throws Exception {
    JetStreamManagement jsm = h.nc.jetStreamManagement();
    StreamConfiguration original = jsm.getStreamInfo(DLQ).getConfiguration();
    for (String lang : LANGS) {
      Fleet f = h.fleet(name(), "cf-dlqdown-" + lang, 8);
      Peer w = f.workers(List.of(spec(lang, lang + "-dlqdown"))).get(0);
      String id = "raw-bad-" + f.queue;
      try {
        jsm.updateStream(StreamConfiguration.builder(original).subjects(PAUSED).build());
        RawMessages.Raw bad = RawMessages.ALL.get("bad");
        h.js.publish(
            NatsMessage.builder()
                .subject("sluice.q." + f.queue)
                .headers(bad.headers(f.queue, id))
                .data(bad.body())
                .build());
        boolean failing =
            w.await(e -> "health".equals(e.type()) && "failing".equals(e.str("status")), 30_000);
        boolean kept = h.state.backlog(f.queue) == 1 && w.events("dead_lettered").isEmpty();
        h.check(
            name(),
            lang + " worker reports failing and keeps the message while records cannot be written",
            List.of(lang),
            failing && kept,
            (failing ? "" : "no health event with status failing in 30 s; ")
                + (kept ? "" : "backlog " + h.state.backlog(f.queue) + ", message not kept"));
        // §5.2 (revision 1.2): the advert says why, so tools that read adverts name the worker.
        boolean named =
            Waits.until(
                () -> problem(h, f.queue, w.id).startsWith("dlq-unwritable: "),
                Duration.ofSeconds(10),
                lang + " advert problem");
        h.check(
            name(),
            lang + " worker's advert carries a dlq-unwritable problem while it is failing",
            List.of(lang),
            named,
            named ? "" : "advert problem is '" + problem(h, f.queue, w.id) + "'");
      } finally {
        jsm.updateStream(original);
      }
      boolean settled = w.await(e -> "dead_lettered".equals(e.type()), 30_000);
      boolean ok = w.await(e -> "health".equals(e.type()) && "ok".equals(e.str("status")), 10_000);
      boolean drained = f.awaitDrained();
      boolean cleared =
          Waits.until(
              () ->
                  problem(h, f.queue, w.id).isEmpty()
                      && ControlPlane.advert(h.sluice(), f.queue, w.id).isPresent(),
              Duration.ofSeconds(10),
              lang + " advert problem cleared");
      h.check(
          name(),
          lang + " worker's advert problem is empty again once records are written",
          List.of(lang),
          cleared,
          cleared ? "" : "advert problem is '" + problem(h, f.queue, w.id) + "'");
      h.check(
          name(),
          lang + " worker dead-letters it once records can be written, and reports ok",
          List.of(lang),
          settled && ok && drained,
          settled && ok && drained
              ? ""
              : (settled ? "" : "no dead_lettered event in 30 s; ")
                  + (ok ? "" : "no health event with status ok; ")
                  + (drained ? "" : "work stream not empty; ")
                  + "stderr: "
                  + w.stderrTail(3));
      f.stopWorkers();
    }
  }

  /** The advert's problem of worker {@code id}, "" when it has none or no advert. */
  private static String problem(Harness h, String queue, String id) {
    try {
      return ControlPlane.advert(h.sluice(), queue, id)
          .map(ControlPlane.Advert::problem)
          .orElse("");
    } catch (RuntimeException e) {
      return "(adverts unreadable: " + e + ")";
    }
  }
}
