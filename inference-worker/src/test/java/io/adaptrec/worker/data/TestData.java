package io.adaptrec.worker.data;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the shared, never-committed datasets live relative to the repository. */
public final class TestData {

    private TestData() {}

    /**
     * {@code ../shared/datasets/ml-100k} relative to the repository root. Tests run from the module
     * directory, so walk up until a {@code shared/datasets/ml-100k} sibling of the repo turns up.
     * CI always has it, so its absence is a failure, not a skip.
     */
    public static Path ml100k() {
        String override = System.getProperty("adaptrec.ml100k");
        if (override != null) {
            return Path.of(override);
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("../shared/datasets/ml-100k").normalize();
            if (Files.isRegularFile(candidate.resolve("u.data"))) {
                return candidate;
            }
        }
        throw new IllegalStateException("MovieLens-100K not found at ../shared/datasets/ml-100k relative to the "
                + "repository (searched upwards from " + Path.of("").toAbsolutePath() + ")");
    }
}
