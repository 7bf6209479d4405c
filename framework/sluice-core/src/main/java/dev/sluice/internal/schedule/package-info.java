/**
 * Scheduled messages (protocol/PROTOCOL.md §13): what a producer stores and what the elected firer
 * does with it.
 *
 * <ul>
 *   <li>{@code ScheduleWire}: names, headers and limits of the schedule stream (§13.2); pure.
 *   <li>{@code ScheduleEntry}: one stored entry, and the work message it fires (§13.4 step 2).
 *   <li>{@code CronSpec}: cron expressions through cron-utils, with errors that name the field
 *       (§13.5).
 *   <li>{@code ScheduleStore}: writes, cancels (a purge of one subject), reads (§13.3).
 *   <li>{@code ScheduleWriter}: the producer's side: validate, version rule, trace, store (§13.3).
 *   <li>{@code FiringLease}: the {@code scheduler.<q>} lease in the control bucket (§13.6).
 *   <li>{@code DueIndex}: the firer's in-memory view by due time; pure.
 *   <li>{@code Firer}: lease, index consumer, and firing through a {@code ProducerRuntime}, so a
 *       due message spends a credit like any send (§13.4).
 * </ul>
 *
 * <p>Why a schedule stream and a client-side firer rather than nats-server's own message schedules
 * (2.12+): the minimum server is 2.9.10, and a server-side schedule would publish into the work
 * stream without a credit, so a burst of due messages would overrun the window. Why a lease of its
 * own rather than the reconciler's: the firer needs a producer's credits and may run in a process
 * that is not a worker. Both are written down with their alternatives in §13.7.
 */
package dev.sluice.internal.schedule;
