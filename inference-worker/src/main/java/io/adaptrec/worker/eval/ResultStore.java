package io.adaptrec.worker.eval;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Results of finished (factory, seed) runs, kept so that a long evaluation can stop and resume: when
 * {@link EvalRunner} finds a factory's results for a seed here, it neither trains nor scores it again. Only
 * with one training per seed ({@link EvalConfig#retrainPerSeed()}), where a seed's results depend on nothing
 * but that seed's training.
 *
 * <p>On disk: {@code DIR/seed-S/FACTORY.json} = {@code {"VARIANT": {"hr@1": …, …}, …}}, written atomically
 * (to a temporary file, then moved) once every variant of the factory has been scored on that seed.
 */
public final class ResultStore {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path dir;

    public ResultStore(Path dir) {
        this.dir = Objects.requireNonNull(dir, "dir");
    }

    public Path dir() {
        return dir;
    }

    /** Metrics by variant name of {@code factory} at {@code seed}, in scoring order, or null when not run yet. */
    public Map<String, Map<String, Double>> load(String factory, long seed) throws IOException {
        Path f = file(factory, seed);
        if (!Files.isRegularFile(f)) {
            return null;
        }
        try {
            return JSON.readValue(f.toFile(), new TypeReference<LinkedHashMap<String, Map<String, Double>>>() { });
        } catch (IOException e) {
            throw new IOException("cannot read the stored results " + f + " (delete it to run that seed again): "
                    + e.getMessage(), e);
        }
    }

    public void save(String factory, long seed, Map<String, Map<String, Double>> metrics) throws IOException {
        Path f = file(factory, seed);
        Files.createDirectories(f.getParent());
        Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
        JsonReport.write(tmp, new LinkedHashMap<>(metrics));
        Files.move(tmp, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private Path file(String factory, long seed) {
        if (!factory.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("factory name '" + factory + "' cannot name a file");
        }
        return dir.resolve("seed-" + seed).resolve(factory + ".json");
    }
}
