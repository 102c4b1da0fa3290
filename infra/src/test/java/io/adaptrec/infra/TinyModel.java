package io.adaptrec.infra;

import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.eval.Split;
import io.adaptrec.worker.model.RecLMConfig;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.model.TrainConfig;
import java.nio.file.Path;
import java.util.Map;

/** A seconds-to-train RecLM (width 16, one layer) saved as adapter v1: the model of the stack ITs. */
final class TinyModel {
  private TinyModel() {}

  static Path train(Dataset data, Path dir) {
    TrainConfig tc = new TrainConfig(3, 2, 20, 1, 1, 2, 16, 3e-3f, 3e-3f, 3, 10, 9, 1f, 0.3f, 0);
    try (RecLMSystem sys = RecLMSystem.train(Split.create(data, Protocol.LOO).trainingData(1),
        new RecLMConfig(16, 1, 1, 256, 0f, true, 4, 8f, false), tc, s -> { })) {
      sys.save(dir, "v1", Map.of());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return dir;
  }
}
