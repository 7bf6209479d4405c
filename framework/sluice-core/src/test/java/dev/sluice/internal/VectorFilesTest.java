package dev.sluice.internal;

import static dev.sluice.internal.Vectors.dir;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every golden vector file in protocol/vectors is run by one of the {@code *VectorsTest} classes. A
 * new vector file goes into {@code COVERED} and into the test class of its feature.
 */
class VectorFilesTest {
  private static final Set<String> COVERED =
      Set.of(
          "backoff.json",
          "credits.json",
          "dlq.json",
          "dlq_reduced.json",
          "headers.json",
          "idempotency.json",
          "outcomes.json",
          "protobuf.json",
          "pushback.json");

  @Test
  void everyVectorFileIsExercised() throws Exception {
    try (Stream<Path> files = Files.list(dir())) {
      Set<String> names =
          files
              .map(p -> p.getFileName().toString())
              .filter(n -> n.endsWith(".json"))
              .collect(Collectors.toSet());
      assertThat(names).isEqualTo(COVERED);
    }
  }
}
