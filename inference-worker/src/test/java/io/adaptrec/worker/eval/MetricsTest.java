package io.adaptrec.worker.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class MetricsTest {

    @Test
    void rankCountsHigherScores() {
        float[] scores = {0.1f, 0.9f, 0.5f, 0.7f};
        assertThat(Metrics.rank(scores, 1, 4)).isEqualTo(1);
        assertThat(Metrics.rank(scores, 2, 4)).isEqualTo(3);
        assertThat(Metrics.rank(scores, 0, 4)).isEqualTo(4);
    }

    @Test
    void tiesNeverFavourTheTarget() {
        float[] constant = new float[20];
        for (int target = 0; target < 20; target++) {
            assertThat(Metrics.rank(constant, target, 20)).isEqualTo(20);
        }
        // one strictly higher, two equal others: 1 + 1 + 2
        assertThat(Metrics.rank(new float[] {0.5f, 0.9f, 0.5f, 0.5f, 0.1f}, 0, 5)).isEqualTo(4);
    }

    @Test
    void ndcgWithOneRelevantItem() {
        assertThat(Metrics.ndcg(1, 5)).isEqualTo(1.0);
        assertThat(Metrics.ndcg(3, 5)).isCloseTo(0.5, within(1e-12));            // 1 / log2(4)
        assertThat(Metrics.ndcg(5, 5)).isCloseTo(1 / (Math.log(6) / Math.log(2)), within(1e-12));
        assertThat(Metrics.ndcg(6, 5)).isZero();
        assertThat(Metrics.ndcg(7, 20)).isCloseTo(1.0 / 3.0, within(1e-12));   // 1 / log2(8)
        assertThat(Metrics.ndcg(Metrics.INVALID, 20)).isZero();
        assertThat(Metrics.hit(1, 1)).isEqualTo(1.0);
        assertThat(Metrics.hit(2, 1)).isZero();
    }

    @Test
    void nanMissingOrShortRowsAreInvalidButInfinityIsAScore() {
        assertThat(Metrics.rank(new float[] {0.1f, Float.NaN, 0.3f}, 2, 3)).isEqualTo(Metrics.INVALID);
        assertThat(Metrics.rank(null, 0, 3)).isEqualTo(Metrics.INVALID);
        assertThat(Metrics.rank(new float[] {1f, 2f}, 0, 3)).isEqualTo(Metrics.INVALID);
        assertThat(Metrics.rank(new float[] {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 0f}, 1, 3)).isEqualTo(1);
        assertThat(Metrics.valid(new float[] {0f, 1f, 2f}, 3)).isTrue();
    }
}
