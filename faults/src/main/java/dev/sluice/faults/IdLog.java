package dev.sluice.faults;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An append-only file of message ids, one a line, shared by the runner and its child JVMs: handlers
 * append each effect, child producers each acknowledged send. Each id is written with one
 * unbuffered {@code write} on a file opened for append, so a line is in the file the moment the
 * call returns and a process killed with SIGKILL loses nothing it had written; writers in several
 * processes do not interleave within a line. Thread-safe.
 */
final class IdLog implements AutoCloseable {
  private final Path file;
  private FileOutputStream out;

  IdLog(Path file) {
    this.file = file;
  }

  /** Appends {@code id} as one line. */
  synchronized void append(String id) {
    try {
      if (out == null) {
        out = new FileOutputStream(file.toFile(), true);
      }
      out.write((id + "\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + file, e);
    }
  }

  /** Every complete line written so far, by any process, in file order. */
  List<String> read() {
    if (!Files.exists(file)) {
      return List.of();
    }
    try {
      String all = Files.readString(file, StandardCharsets.UTF_8);
      List<String> ids = new ArrayList<>();
      int start = 0;
      for (int nl = all.indexOf('\n'); nl >= 0; nl = all.indexOf('\n', start)) {
        if (nl > start) {
          ids.add(all.substring(start, nl));
        }
        start = nl + 1;
      }
      return ids;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  /** The file's path, for a child JVM's arguments. */
  Path path() {
    return file;
  }

  @Override
  public synchronized void close() {
    if (out != null) {
      try {
        out.close();
      } catch (IOException e) {
        // nothing more will be written
      }
      out = null;
    }
  }
}
