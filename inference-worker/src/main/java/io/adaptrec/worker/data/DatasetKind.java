package io.adaptrec.worker.data;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The dataset families {@link Datasets#load} understands, named as on the command line. */
public enum DatasetKind {
    /** MovieLens-100K or -1M, told apart by the files in the directory. */
    MOVIELENS,
    /** {@code interactions.csv} + {@code items.csv}. */
    GENERIC,
    /** Generated in memory by {@link SyntheticGenerator}; needs no directory. */
    SYNTHETIC;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static DatasetKind parse(String text) {
        for (DatasetKind kind : values()) {
            if (kind.cliName().equalsIgnoreCase(text.trim())) {
                return kind;
            }
        }
        throw new IllegalArgumentException("unknown dataset kind '" + text + "'; expected one of "
                + Arrays.stream(values()).map(DatasetKind::cliName).collect(Collectors.joining(", ")));
    }
}
