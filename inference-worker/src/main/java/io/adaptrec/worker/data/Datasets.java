package io.adaptrec.worker.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The one entry point for loading data: {@code load(kind, dir, options)}.
 *
 * <ul>
 *   <li>{@code movielens}: {@code dir} holds MovieLens-100K ({@code u.data}) or -1M
 *       ({@code ratings.dat}); which one is detected from the files present.</li>
 *   <li>{@code generic}: {@code dir} holds {@code interactions.csv} and {@code items.csv}.</li>
 *   <li>{@code synthetic}: generated from {@link LoadOptions#synthetic()}; {@code dir} is ignored
 *       and may be null.</li>
 * </ul>
 */
public final class Datasets {

    private Datasets() {}

    public static LoadResult load(String kind, Path dir, LoadOptions options) {
        return load(DatasetKind.parse(kind), dir, options);
    }

    public static LoadResult load(DatasetKind kind, Path dir, LoadOptions options) {
        Objects.requireNonNull(options, "options");
        if (kind != DatasetKind.SYNTHETIC) {
            Objects.requireNonNull(dir, "a data directory is required for dataset kind " + kind.cliName());
            if (!Files.isDirectory(dir)) {
                throw new MalformedDataException(dir, 0, "data directory does not exist or is not a directory");
            }
        }
        return switch (kind) {
            case MOVIELENS -> MovieLensLoader.load(dir, options.lenient());
            case GENERIC -> GenericCsvLoader.load(dir, options.lenient(), options.timestampUnit());
            case SYNTHETIC -> {
                Dataset dataset = new SyntheticGenerator(options.synthetic()).dataset();
                yield new LoadResult(dataset, new LoadReport(dataset.name(), 0, 0, List.of(),
                        List.of("generated: " + options.synthetic())));
            }
        };
    }
}
