package io.adaptrec.worker.eval;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.DatasetKind;
import io.adaptrec.worker.data.Datasets;
import io.adaptrec.worker.data.LoadOptions;
import io.adaptrec.worker.data.TestData;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The most-popular baseline on the real MovieLens-100K, seeds 1-3: the reference point every model
 * must beat. Random ranking would score HR@1 = 0.05 with 20 candidates.
 */
class PopularOnMovieLensTest {

    private static final EvalConfig SEEDS_1_2_3 = new EvalConfig(List.of(1L, 2L, 3L), Stage.TEST, true, true, 256, false);

    private static Dataset ml100k;

    @BeforeAll
    static void load() {
        ml100k = Datasets.load(DatasetKind.MOVIELENS, TestData.ml100k(), LoadOptions.defaults()).dataset();
    }

    private static EvalReport run(Protocol protocol) throws Exception {
        return new EvalRunner(SEEDS_1_2_3, System.out)
                .run(Split.create(ml100k, protocol), Map.of("popular", PopularRecommender.factory()));
    }

    @Test
    void llara() throws Exception {
        EvalReport report = run(Protocol.LLARA);
        EvalReport.VariantResult popular = report.variant("popular");
        assertThat(report.testUsers()).isEqualTo(95);
        assertThat(popular.mean(EvalReport.HR1)).isBetween(0.10, 0.25);
        assertThat(popular.mean(EvalReport.NDCG5)).isGreaterThan(popular.mean(EvalReport.HR1));
        assertThat(popular.mean(EvalReport.NDCG20)).isGreaterThan(popular.mean(EvalReport.NDCG5));
        assertThat(popular.mean(EvalReport.VALID)).isEqualTo(1.0);
        assertThat(popular.mean(EvalReport.HR10_FULL)).as("llara has no full ranking").isNull();
    }

    @Test
    void loo() throws Exception {
        EvalReport report = run(Protocol.LOO);
        EvalReport.VariantResult popular = report.variant("popular");
        assertThat(report.testUsers()).isEqualTo(943);
        assertThat(popular.mean(EvalReport.HR1)).isBetween(0.12, 0.25);
        assertThat(popular.mean(EvalReport.HR10_FULL)).isBetween(0.02, 0.15);
        assertThat(popular.mean(EvalReport.NDCG10_FULL)).isLessThan(popular.mean(EvalReport.HR10_FULL));
        // Deterministic per seed: a second run reproduces every per-seed figure.
        assertThat(run(Protocol.LOO).variant("popular").perSeed()).isEqualTo(popular.perSeed());
    }
}
