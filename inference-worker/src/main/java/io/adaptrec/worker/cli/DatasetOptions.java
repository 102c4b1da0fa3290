package io.adaptrec.worker.cli;

import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.DatasetKind;
import io.adaptrec.worker.data.Datasets;
import io.adaptrec.worker.data.LoadOptions;
import io.adaptrec.worker.data.LoadResult;
import io.adaptrec.worker.data.SyntheticConfig;
import io.adaptrec.worker.data.TimestampUnit;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Which dataset to load and how: shared by {@code replay} and {@code demo} as a picocli mixin.
 * Loading goes through the worker's {@link Datasets}, so replay publishes exactly what training
 * and evaluation read.
 */
public final class DatasetOptions {
  /** The launcher passes the repository root, so defaults do not depend on the working directory. */
  public static final String HOME_PROPERTY = "adaptrec.home";

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Dataset directory. Default for movielens: ../shared/datasets/ml-100k relative to the repository root; "
          + "required for generic (interactions.csv + items.csv); ignored for synthetic.")
  Path dataDir;

  @Option(names = "--lenient", description = "Skip (and count) malformed input lines instead of failing on the first one.")
  boolean lenient;

  @Option(names = "--timestamp-unit", paramLabel = "UNIT", defaultValue = "auto",
      description = "Unit of the generic format's timestamp column: auto, seconds or millis (default: ${DEFAULT-VALUE}).")
  String timestampUnit;

  @Option(names = "--users", paramLabel = "N", description = "synthetic: number of users (default 1000).")
  Integer users;

  @Option(names = "--items", paramLabel = "N", description = "synthetic: number of items (default 500).")
  Integer items;

  @Option(names = "--min-events", paramLabel = "N", description = "synthetic: fewest events per user (default 20).")
  Integer minEvents;

  @Option(names = "--max-events", paramLabel = "N", description = "synthetic: most events per user, at most items/2 (default 60).")
  Integer maxEvents;

  @Option(names = "--seed", paramLabel = "N", description = "synthetic: generator seed; same seed, same data (default 42).")
  Long seed;

  @Option(names = "--item-text", paramLabel = "MODE", defaultValue = "keep",
      description = "Item text the run may use: keep (titles and genres), no-genres, or opaque (genres and ratings dropped, "
          + "every title a made-up one-word name, so text carries nothing an item id does not) (default: ${DEFAULT-VALUE}).")
  String itemText = "keep";

  /** ../shared/datasets/ml-100k next to the repository (or the working directory without the launcher). */
  public static Path defaultMovieLensDir() {
    return Path.of(System.getProperty(HOME_PROPERTY, ".")).toAbsolutePath().resolve("../shared/datasets/ml-100k").normalize();
  }

  /** The synthetic world from the defaults and whatever size options were given. */
  public SyntheticConfig synthetic() {
    SyntheticConfig d = SyntheticConfig.defaults();
    SyntheticConfig c = d.withSize(users != null ? users : d.users(), items != null ? items : d.items(),
        minEvents != null ? minEvents : d.minEventsPerUser(), maxEvents != null ? maxEvents : d.maxEventsPerUser());
    return seed != null ? c.withSeed(seed) : c;
  }

  /** The directory to read for {@code kind}, or null for synthetic data. */
  public Path directory(DatasetKind kind) {
    return switch (kind) {
      case SYNTHETIC -> null;
      case MOVIELENS -> dataDir != null ? dataDir : defaultMovieLensDir();
      case GENERIC -> {
        if (dataDir == null) {
          throw new IllegalArgumentException("--data-dir is required for --dataset generic (a directory with interactions.csv and items.csv)");
        }
        yield dataDir;
      }
    };
  }

  /**
   * Checks the options for {@code kind} without reading any data, so a command can fail on a typo
   * before it starts or contacts anything.
   */
  public LoadOptions validate(DatasetKind kind) {
    Path dir = directory(kind);
    if (dir != null && !Files.isDirectory(dir)) {
      throw new IllegalArgumentException("dataset directory " + dir + " does not exist"
          + (kind == DatasetKind.MOVIELENS && dataDir == null
              ? " (the default for movielens; pass --data-dir DIR with u.data and u.item, or use --dataset synthetic)" : ""));
    }
    TimestampUnit unit = switch (timestampUnit.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "auto" -> TimestampUnit.AUTO;
      case "seconds" -> TimestampUnit.SECONDS;
      case "millis" -> TimestampUnit.MILLIS;
      default -> throw new IllegalArgumentException("--timestamp-unit must be auto, seconds or millis, got '" + timestampUnit + "'");
    };
    Dataset.ItemText.parse(itemText);   // fail on a typo before anything is read
    return LoadOptions.defaults().withLenient(lenient).withTimestampUnit(unit).withSynthetic(synthetic());
  }

  public LoadResult load(DatasetKind kind) {
    Dataset.ItemText text = Dataset.ItemText.parse(itemText);
    LoadResult r = Datasets.load(kind, directory(kind), validate(kind));
    return text == Dataset.ItemText.KEEP ? r : new LoadResult(r.dataset().withItemText(text), r.report());
  }
}
