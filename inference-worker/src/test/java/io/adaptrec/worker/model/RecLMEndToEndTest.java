package io.adaptrec.worker.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.SyntheticConfig;
import io.adaptrec.worker.data.SyntheticGenerator;
import io.adaptrec.worker.eval.EvalConfig;
import io.adaptrec.worker.eval.EvalReport;
import io.adaptrec.worker.eval.EvalRunner;
import io.adaptrec.worker.eval.PopularRecommender;
import io.adaptrec.worker.eval.Protocol;
import io.adaptrec.worker.eval.Recommender;
import io.adaptrec.worker.eval.RecommenderFactory;
import io.adaptrec.worker.eval.Split;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The whole path (stage 1 pool, stage 2 selection, stage 3 prompt scoring, all three training
 * stages, the SASRec baseline) on synthetic data with planted structure: taste clusters and a
 * planted successor for every item. A model that learns nothing scores like chance (HR@1 = 0.05)
 * and loses to most-popular; the planted successor alone is worth far more.
 */
class RecLMEndToEndTest {

    /** -Dreclm.log=true prints the training log. */
    private static final java.util.function.Consumer<String> LOG =
            Boolean.getBoolean("reclm.log") ? System.out::println : s -> { };

    @Test
    void trainedRecLMClearlyBeatsMostPopularOnPlantedStructure() throws Exception {
        Dataset data = new SyntheticGenerator(SyntheticConfig.defaults().withSeed(7).withSize(240, 120, 16, 30)).dataset();
        Split split = Split.create(data, Protocol.LOO);
        RecLMConfig mc = new RecLMConfig(32, 2, 1, 256, 0f, true, 4, 8f, false);
        TrainConfig tc = new TrainConfig(3, 30, 30, 2, 1, 2, 32, 5e-3f, 2e-3f, 3, 10, 19, 1f, 0.3f, 30);
        Map<String, RecommenderFactory> factories = new LinkedHashMap<>();
        factories.put("reclm", (td, seed) -> RecLMSystem.train(td, mc, tc, LOG).recommenders(List.of(
                RecLMSystem.Variant.parse("adaptrec", 3), RecLMSystem.Variant.parse("none", 3))));
        factories.put("sasrec", (td, seed) -> List.<Recommender>of(SasRec.train(td, mc, tc, LOG)));
        factories.put("popular", PopularRecommender.factory());
        EvalConfig cfg = new EvalConfig(List.of(1L), io.adaptrec.worker.eval.Stage.TEST, false, false, 64, false);
        EvalReport report = new EvalRunner(cfg, new PrintStream(new ByteArrayOutputStream())).run(split, factories);

        double popular = report.variant("popular").mean(EvalReport.HR1);
        double adaptrec = report.variant("adaptrec").mean(EvalReport.HR1);
        assertThat(report.variant("adaptrec").mean(EvalReport.VALID)).isEqualTo(1.0);
        assertThat(adaptrec).as("adaptrec HR@1 vs popular %.3f", popular).isGreaterThan(popular + 0.15);
        assertThat(report.variant("sasrec").mean(EvalReport.HR1)).isGreaterThan(popular + 0.10);
    }
}
