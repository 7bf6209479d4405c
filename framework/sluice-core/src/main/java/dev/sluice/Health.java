package dev.sluice;

/**
 * A worker's health, for readiness and liveness endpoints.
 *
 * @param live the worker's threads are running (restart the process when false)
 * @param ready the worker is pulling work (false while starting, draining, with the circuit open,
 *     or while its stream or consumer is missing)
 * @param state RUNNING, CIRCUIT_OPEN, DRAINING, STOPPED or FAILING
 * @param detail what is wrong, or empty
 * @param inFlight messages being handled now
 * @param processed messages handled successfully since start
 * @param deadLettered messages dead-lettered since start
 */
public record Health(
    boolean live,
    boolean ready,
    String state,
    String detail,
    int inFlight,
    long processed,
    long deadLettered) {}
