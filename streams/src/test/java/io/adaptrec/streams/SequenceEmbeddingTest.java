package io.adaptrec.streams;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SequenceEmbeddingTest {
    private static final Map<Long, float[]> VECTORS = Map.of(
            1L, new float[] {1, 0, 0},
            2L, new float[] {0, 2, 0},
            3L, new float[] {0, 0, 4},
            9L, new float[] {1, 1});

    private static List<UserHistory.Entry> window(long... items) {
        UserHistory.Entry[] e = new UserHistory.Entry[items.length];
        for (int i = 0; i < items.length; i++) e[i] = new UserHistory.Entry(items[i], 1000L * i, null);
        return List.of(e);
    }

    @Test
    void plainMeanIsNormalisedSumOfRawVectors() {
        SequenceEmbedding.Result r = SequenceEmbedding.compute(window(1, 2, 3), VECTORS::get, 0);
        double n = Math.sqrt(1 + 4 + 16);
        assertThat(r.embedding()).containsExactly(new float[] {(float) (1 / n), (float) (2 / n), (float) (4 / n)}, within(1e-6f));
        assertThat(r.used()).isEqualTo(3);
        assertThat(r.missing()).isZero();
    }

    @Test
    void recencyHalfLifeHalvesTheWeightPerHalfLifePositions() {
        // newest (item 2) weight 1, item 1 one position older weight 0.5 with half-life 1
        SequenceEmbedding.Result r = SequenceEmbedding.compute(window(1, 2), VECTORS::get, 1.0);
        double n = Math.sqrt(0.25 + 4);
        assertThat(r.embedding()).containsExactly(new float[] {(float) (0.5 / n), (float) (2 / n), 0f}, within(1e-6f));
    }

    @Test
    void unknownItemsStayOutOfTheMeanButStillAgeOlderItems() {
        SequenceEmbedding.Result r = SequenceEmbedding.compute(window(1, 42, 2), VECTORS::get, 1.0);
        // item 1 is two positions from the newest: weight 0.25
        double n = Math.sqrt(0.0625 + 4);
        assertThat(r.embedding()).containsExactly(new float[] {(float) (0.25 / n), (float) (2 / n), 0f}, within(1e-6f));
        assertThat(r.missing()).isEqualTo(1);
    }

    @Test
    void vectorsOfAnotherDimensionAreLeftOut() {
        SequenceEmbedding.Result r = SequenceEmbedding.compute(window(9, 1), VECTORS::get, 0);
        assertThat(r.embedding()).containsExactly(1f, 0f, 0f);
        assertThat(r.missing()).isEqualTo(1);
    }

    @Test
    void noUsableVectorGivesAnEmptyEmbedding() {
        assertThat(SequenceEmbedding.compute(window(40, 41), VECTORS::get, 0).embedding()).isEmpty();
        assertThat(SequenceEmbedding.compute(window(), VECTORS::get, 0).embedding()).isEmpty();
        Map<Long, float[]> cancelling = Map.of(1L, new float[] {1, 0}, 2L, new float[] {-1, 0});
        assertThat(SequenceEmbedding.compute(window(1, 2), cancelling::get, 0).embedding()).isEmpty();
    }
}
