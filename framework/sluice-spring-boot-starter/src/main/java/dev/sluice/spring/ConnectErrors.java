package dev.sluice.spring;

import io.nats.client.Connection;
import io.nats.client.impl.ErrorListenerLoggerImpl;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Logs the connection's errors as jnats does, and remembers the last exception and server error:
 * jnats reports why a first connection failed (a TLS handshake, an authorization error) only here.
 */
final class ConnectErrors extends ErrorListenerLoggerImpl {
  final AtomicReference<Exception> lastException = new AtomicReference<>();
  final AtomicReference<String> lastError = new AtomicReference<>();

  @Override
  public void errorOccurred(Connection conn, String error) {
    lastError.set(error);
    super.errorOccurred(conn, error);
  }

  @Override
  public void exceptionOccurred(Connection conn, Exception exp) {
    lastException.set(exp);
    super.exceptionOccurred(conn, exp);
  }
}
