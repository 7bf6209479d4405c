package dev.sluice.internal.worker;

import io.nats.client.Connection;
import java.time.Duration;

/**
 * Tells whether the server refused or accepted the pull requests sent since the last check. A
 * refused pull shows only as an asynchronous {@code -ERR} on the connection; an accepted one shows
 * nothing until a message arrives, and a worker that reports FAILING advertises capacity 0, so no
 * message comes. The connection's last error string is kept forever, so it cannot tell a new
 * refusal from an old one; the connection's error count can: a flush (PING/PONG) after a pull
 * returns after the server has answered that pull, so an unchanged count means it was accepted. Not
 * thread-safe: used by the pull loop's thread only.
 */
final class DeniedPulls {
  enum Verdict {
    /** No pull was sent since the last check, or the flush failed: nothing learnt. */
    UNKNOWN,
    /** A pull sent since the last check was refused (a new permissions error for it). */
    DENIED,
    /** Every pull sent since the last check was accepted (no new error on the connection). */
    ACCEPTED
  }

  private static final Duration FLUSH = Duration.ofSeconds(2);

  private final Connection nc;
  private final String pullSubject;
  private long errsBeforePull = -1;

  /** {@code pullSubject}: {@code $JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>}. */
  DeniedPulls(Connection nc, String pullSubject) {
    this.nc = nc;
    this.pullSubject = pullSubject;
  }

  /** Call just before sending a pull request. */
  void beforePull() {
    if (errsBeforePull < 0) {
      errsBeforePull = nc.getStatistics().getErrs();
    }
  }

  /** Waits for the server's answer to the pulls sent since the last check and judges them. */
  Verdict check() {
    if (errsBeforePull < 0) {
      return Verdict.UNKNOWN;
    }
    long before = errsBeforePull;
    errsBeforePull = -1;
    try {
      nc.flush(FLUSH);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return Verdict.UNKNOWN;
    }
    if (nc.getStatistics().getErrs() == before) {
      return Verdict.ACCEPTED;
    }
    String last = nc.getLastError();
    return last != null && last.contains("Permissions Violation") && last.contains(pullSubject)
        ? Verdict.DENIED
        : Verdict.UNKNOWN;
  }

  /** The connection's last error, for the health's detail. */
  String lastError() {
    String last = nc.getLastError();
    return last == null ? "" : last.trim();
  }
}
