/**
 * The web console served by {@code sluice ui} (docs/CONSOLE.md).
 *
 * <p>{@link dev.sluice.cli.console.ConsoleServer} runs the JDK's {@code com.sun.net.httpserver}:
 * static files from {@code console/} and uPlot from its WebJar ({@code Assets}), the JSON API
 * ({@code Api}), the request checks ({@code Guard}), and a sampler ({@code Sampler}) that reads
 * every queue each interval into a per-queue ring buffer ({@code History}) and pushes it to the
 * open pages as Server-Sent Events ({@code EventHub}).
 *
 * <p>The package knows nothing of the CLI's internals: it talks to a {@link
 * dev.sluice.cli.console.Backend} whose methods return the CLI's {@code --json} documents as text.
 * {@code dev.sluice.cli.ConsoleDocuments} implements it with the very functions the commands print,
 * so the API and the CLI cannot drift apart. Rejected: a second set of DTOs for the API (two shapes
 * to keep in step), and making the CLI's package-private classes public for the console.
 *
 * <p>The JDK server rather than Javalin, Jetty or Undertow: a handful of routes, one event stream
 * and a few operators need no more, and the CLI jar gains no dependency. SSE rather than polling
 * from each page: NATS is read once per interval however many tabs are open, and {@code
 * EventSource} reconnects by itself.
 */
package dev.sluice.cli.console;
