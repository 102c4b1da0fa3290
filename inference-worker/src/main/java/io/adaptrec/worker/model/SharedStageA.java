package io.adaptrec.worker.model;

import io.adaptrec.worker.eval.TrainingData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One stage-A training per seed, shared by every model that an ablation fine-tunes from it (stages B and C
 * differ, stage A does not depend on the selection strategy or M, so sharing it is honest), and kept on disk
 * under {@code dir/seed-S/stage-a/} so that a stopped ablation resumes without retraining it. Each user of a
 * seed's stage A gets its own copy of the weights ({@link RecLMSystem#copyOf}).
 */
public final class SharedStageA {

    private final Path dir;
    private final RecLMConfig modelCfg;
    private final Consumer<String> log;
    private long cachedSeed = Long.MIN_VALUE;
    private Map<String, float[]> cached;

    public SharedStageA(Path dir, RecLMConfig modelCfg, Consumer<String> log) {
        this.dir = dir;
        this.modelCfg = modelCfg;
        this.log = log;
    }

    /** A new model for {@code data} holding seed {@code seed}'s stage-A weights (trained with {@code tc} if needed). */
    public synchronized LanguageModel model(TrainingData data, long seed, TrainConfig tc) throws IOException {
        if (cachedSeed != seed) {
            cached = weights(data, seed, tc);
            cachedSeed = seed;
        }
        return RecLMSystem.copyOf(data, modelCfg, tc.seed(), cached);
    }

    private Map<String, float[]> weights(TrainingData data, long seed, TrainConfig tc) throws IOException {
        Path saved = dir.resolve("seed-" + seed).resolve("stage-a");
        if (Files.isRegularFile(saved.resolve("base.safetensors"))) {
            log.accept("stage A of seed " + seed + ": reused from " + saved);
            try (LanguageModel lm = LanguageModel.loadBase(saved)) {
                return RecLMSystem.baseWeights(lm);
            }
        }
        try (LanguageModel lm = RecLMSystem.trainBase(data, modelCfg, tc, log, (stage, epoch, m) -> { })) {
            Path tmp = saved.resolveSibling("stage-a.tmp");
            deleteTree(tmp);
            lm.saveBase(tmp);
            Files.move(tmp, saved, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return RecLMSystem.baseWeights(lm);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (Files.exists(p)) {
            try (var files = Files.walk(p)) {
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }
}
