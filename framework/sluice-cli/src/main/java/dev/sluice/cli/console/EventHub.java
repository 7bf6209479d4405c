package dev.sluice.cli.console;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The browsers' live feed: Server-Sent Events on {@code GET /api/events}. Each connected page gets
 * every event published after it connected, starting with the latest one, and a comment every few
 * seconds so that proxies and the browser see the stream alive. A page that falls too far behind is
 * dropped (its EventSource reconnects).
 */
final class EventHub {
  private static final String CLOSE = "\u0000close";
  private static final int BACKLOG = 64;

  private final List<BlockingQueue<String>> clients = new CopyOnWriteArrayList<>();
  private final int maxClients;
  private volatile String latest;

  EventHub(int maxClients) {
    this.maxClients = maxClients;
  }

  /** Sends {@code json} as an event named {@code name} to every page. */
  void publish(String name, String json) {
    String frame = "event: " + name + "\ndata: " + json.replace("\n", "\ndata: ") + "\n\n";
    latest = frame;
    for (BlockingQueue<String> q : clients) {
      if (!q.offer(frame)) {
        clients.remove(q);
        q.clear();
        q.offer(CLOSE);
      }
    }
  }

  int clients() {
    return clients.size();
  }

  /** Ends every stream (the console is stopping). */
  void closeAll() {
    for (BlockingQueue<String> q : clients) {
      q.clear();
      q.offer(CLOSE);
    }
    clients.clear();
  }

  /** Serves one page's stream until it goes away; runs on the request's thread. */
  void serve(HttpExchange ex) throws IOException {
    if (clients.size() >= maxClients) {
      throw new ApiException(
          503,
          1,
          "too many open console pages ("
              + maxClients
              + "): close some tabs; each page holds one live stream");
    }
    BlockingQueue<String> q = new LinkedBlockingQueue<>(BACKLOG);
    String first = latest;
    if (first != null) {
      q.offer(first);
    }
    clients.add(q);
    ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
    ex.getResponseHeaders().set("Cache-Control", "no-store");
    ex.sendResponseHeaders(200, 0);
    try (OutputStream out = ex.getResponseBody()) {
      out.write("retry: 2000\n\n".getBytes(StandardCharsets.UTF_8));
      out.flush();
      while (true) {
        String frame = q.poll(10, TimeUnit.SECONDS);
        if (frame == CLOSE) {
          return;
        }
        out.write((frame == null ? ": alive\n\n" : frame).getBytes(StandardCharsets.UTF_8));
        out.flush();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException gone) {
      // The page went away.
    } finally {
      clients.remove(q);
    }
  }
}
