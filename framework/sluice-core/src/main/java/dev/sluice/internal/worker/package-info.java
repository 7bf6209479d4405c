/**
 * The worker runtime (protocol §7): pulls with bounded in-flight and settles every delivery once.
 *
 * <p>{@link dev.sluice.internal.worker.WorkerRuntime} wires the parts at start and shuts them down
 * once. Each delivery runs through a {@code Chain} of steps, assembled once at start from what the
 * worker is configured with; a step that is not configured is not in the chain and costs nothing:
 *
 * <ol>
 *   <li>{@code ValidateStep}: protocol headers and payload size (dead-letter when invalid);
 *   <li>{@code DeliveryLimitStep}: more than {@code maxDeliveries} deliveries (dead-letter);
 *   <li>{@code DuplicateStep}, with an idempotency store (the default is a local cache): ack an
 *       already-processed message without running it; record it as processed after success;
 *   <li>{@code GraceStep}: a type or version this worker does not handle is NAKed for the grace
 *       period, then dead-lettered unless another live worker advertises it;
 *   <li>{@code DecodeStep}: upcast, then decode (dead-letter {@code decode-error});
 *   <li>{@code TraceStep}: the handler's span and the MDC; always present, because {@code
 *       MessageContext.traceId()} and log correlation are part of the contract (an OpenTelemetry
 *       span when its API is present, plain W3C ids otherwise);
 *   <li>{@code BreakerStep}, only with an enabled circuit breaker: no Failsafe object otherwise; it
 *       also keeps the probe the pull loop takes while the circuit is open (§7.6), which ends by
 *       its handler run, by its release without one ({@code Dispatcher}), or by its pull expiring
 *       empty or being lost ({@code PullLoop});
 *   <li>{@code TimeoutStep}: AckProgress and the handler timeout, through the {@code Watchdog};
 *   <li>{@code MetricsStep}, only with a meter registry;
 *   <li>{@code HandlerStep}: the user's middleware (first added outermost), then the handler.
 * </ol>
 *
 * <p>Steps decide with the pure rules of {@link dev.sluice.internal.wire.Classifier}. Only the
 * {@code Settler} acks, NAKs and dead-letters: a step that decides an outcome hands it to the
 * settler and returns; the {@code Dispatcher} hands it the handler's success or failure. The
 * settler logs a handler's failure at WARN, the first of each kind per minute ({@code FailureLog}).
 *
 * <p>Downstream pushback (protocol §15.1) is the one outcome that is not a settlement: when the
 * chain throws a {@code DownstreamOverloadedException} (or wraps one), the {@code Dispatcher} gives
 * the message to {@code Pushback}, which keeps it in hand (its slot stays taken, progress every ack
 * wait / 3) and has the dispatcher run the chain again on the same delivery after the delay, so the
 * delivery count, and with it every attempt rule, is untouched. {@code Pushback} also keeps the
 * AIMD limit ({@code internal.credit.Aimd}) that the {@code Advertiser} advertises and the pull
 * loop and the handler gate obey while lowered; while not lowered none of it runs per message.
 *
 * <p>Threads: the pull loop owns one thread ({@code sluice-worker-<id>-pull}) and only pulls and
 * dispatches; every step, the middleware and the handler run on a handler thread of the executor
 * (the user's, or a fixed pool of {@code concurrency} threads); the timer pool ({@code
 * sluice-worker-timer}) runs the watchdog's sweep, the advertiser's heartbeat and the pushback tick
 * and retries; {@code sluice-minter} confirms finishing acks and mints replenished credits; {@code
 * sluice-reconciler} runs the reconciler's election and audit when this worker may reconcile.
 * {@code close()} runs on its caller's thread, once.
 */
package dev.sluice.internal.worker;
