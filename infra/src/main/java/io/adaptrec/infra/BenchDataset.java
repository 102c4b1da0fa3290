package io.adaptrec.infra;

import io.adaptrec.worker.cli.DatasetOptions;
import io.adaptrec.worker.data.DatasetKind;
import io.adaptrec.worker.data.LoadResult;
import java.nio.file.Files;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The dataset options every stack benchmark takes: {@code --dataset KIND} and the loader's options. */
final class BenchDataset {

  @Option(names = "--dataset", paramLabel = "KIND", converter = Endpoints.DatasetKindConverter.class,
      description = "movielens | generic | synthetic (default: movielens when ../shared/datasets/ml-100k exists).")
  DatasetKind dataset;

  @Mixin
  DatasetOptions data;

  /** The chosen dataset (MovieLens-100K when present, else synthetic), validated and loaded. */
  LoadResult load() {
    DatasetKind kind = dataset != null ? dataset
        : Files.isDirectory(data.directory(DatasetKind.MOVIELENS)) ? DatasetKind.MOVIELENS : DatasetKind.SYNTHETIC;
    data.validate(kind);
    return data.load(kind);
  }
}
