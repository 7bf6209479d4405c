package dev.sluice.internal.topology;

import io.nats.client.support.JsonValue;

/**
 * One declared topology object in NATS's own JSON format: a stream configuration, a consumer create
 * request ({@code {"stream_name": ..., "config": {...}}}), or Sluice queue settings.
 */
public record Definition(Kind kind, String name, String stream, String source, JsonValue json) {
  /** The kinds of object. */
  public enum Kind {
    STREAM("stream"),
    CONSUMER("consumer"),
    QUEUE("queue");

    final String label;

    Kind(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  /** {@code stream/consumer} for consumers, the name otherwise. */
  public String displayName() {
    return kind == Kind.CONSUMER ? stream + "/" + name : name;
  }
}
