/**
 * Optional integrations: Micrometer metrics and OpenTelemetry spans when their APIs are on the
 * class path, no-ops otherwise (W3C trace context is still propagated, §10).
 */
package dev.sluice.internal.telemetry;
