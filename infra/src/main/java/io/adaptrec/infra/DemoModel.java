package io.adaptrec.infra;

import io.adaptrec.worker.cli.ModelOptions;
import io.adaptrec.worker.cli.TrainCommand;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.model.AdapterStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The demo's base model: RecLM trained with {@code adaptrec train}'s defaults on the earliest part
 * of the timeline only (the live part stays unseen), cached under {@code ~/.cache/adaptrec/models}
 * (or {@code $ADAPTREC_CACHE}) by a key of the data and the training settings, so a second demo
 * starts at once. The model is written to a temporary directory and moved into place when complete:
 * an interrupted training never leaves a half-written model in the cache.
 */
final class DemoModel {
  static final String ADAPTER_VERSION = "v1";

  private DemoModel() {}

  /** {@code $ADAPTREC_CACHE/models}, else {@code ~/.cache/adaptrec/models}. */
  static Path defaultCache() {
    String env = System.getenv("ADAPTREC_CACHE");
    Path root = env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "adaptrec");
    return root.resolve("models");
  }

  /** The cached model of {@code data}'s earliest {@code pastFraction}, trained first when missing. */
  static Path ensure(Dataset data, double pastFraction, Path cache, PrintWriter log) throws IOException {
    ModelOptions opts = ModelOptions.defaults();
    Path dir = cache.resolve(key(data, pastFraction, opts));
    if (Files.isRegularFile(dir.resolve("adapters").resolve("CURRENT"))) {
      log.println("Base model: cached at " + dir);
      log.flush();
      return dir;
    }
    Files.createDirectories(cache);
    Path tmp = Files.createTempDirectory(cache, ".training-");
    try {
      log.printf("Base model: training RecLM on the earliest %.0f %% of %s (adaptrec train's schedule; cached for the next run"
          + " at %s) ...%n", 100 * pastFraction, data.name(), dir);
      log.flush();
      double secs = TrainCommand.trainAndSave(data, Protocol.LOO, pastFraction, opts, tmp, ADAPTER_VERSION, line -> {
        log.println("  " + line);
        log.flush();
      });
      try {
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, dir);
      }
      log.printf("Base model: trained in %.0f s%n", secs);
      log.flush();
      return dir;
    } finally {
      LocalStack.deleteRecursively(tmp);
    }
  }

  /**
   * Dataset name, a content hash of its catalogue and interactions, the past fraction, and the model
   * and training settings: a change to any of them trains a new model.
   */
  static String key(Dataset data, double pastFraction, ModelOptions opts) {
    StringBuilder sb = new StringBuilder();
    sb.append(data.name()).append('|').append(pastFraction).append('|').append(opts.model()).append('|')
        .append(opts.training(opts.seed)).append('|').append(data.items().size()).append('|');
    long h = 1125899906842597L;
    for (Dataset.Event e : data.interactions()) {
      h = 31 * h + e.userId();
      h = 31 * h + e.itemId();
      h = 31 * h + e.eventTimeMillis();
    }
    for (Dataset.Item it : data.items()) {
      h = 31 * h + it.itemId();
      h = 31 * h + it.title().hashCode();
    }
    sb.append(h);
    String digest = AdapterStore.sha256(sb.toString().getBytes(StandardCharsets.UTF_8)).substring(0, 16);
    String safeName = data.name().replaceAll("[^A-Za-z0-9._-]", "_");
    return safeName + "-past" + Math.round(100 * pastFraction) + "-" + digest;
  }
}
