package io.adaptrec.streams;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class TextEmbeddingTest {
    private final TextEmbedding text = new TextEmbedding(64);

    @Test
    void isUnitLengthAndDeterministic() {
        float[] a = text.embed("Toy Story (1995)", List.of("Animation", "Children's", "Comedy"));
        float[] b = new TextEmbedding(64).embed("Toy Story (1995)", List.of("Animation", "Children's", "Comedy"));
        assertThat(a).hasSize(64).containsExactly(b);
        assertThat(norm(a)).isCloseTo(1.0, within(1e-6));
    }

    @Test
    void pinsTheHashSoVectorsNeverChangeSilently() {
        // A changed hash would move every text vector while keeping the version name: pin it.
        assertThat(TextEmbedding.hash("w:toy")).isEqualTo(TextEmbedding.hash("w:toy"));
        assertThat(TextEmbedding.hash("w:toy")).isNotEqualTo(TextEmbedding.hash("w:story"));
        assertThat(Long.toHexString(TextEmbedding.hash(""))).isEqualTo("f52a15e9a9b5e89b");
    }

    @Test
    void sharedWordsAndGenresMakeItemsCloser() {
        float[] starWars = text.embed("Star Wars (1977)", List.of("Action", "Sci-Fi"));
        float[] starTrek = text.embed("Star Trek: Generations (1994)", List.of("Action", "Sci-Fi"));
        float[] emma = text.embed("Emma (1996)", List.of("Drama", "Romance"));
        assertThat(dot(starWars, starTrek)).isGreaterThan(dot(starWars, emma) + 0.2);
    }

    @Test
    void nothingToEmbedGivesNull() {
        assertThat(text.embed("  --  ", List.of())).isNull();
        assertThat(text.embed(null, null)).isNull();
        assertThat(text.embed("", List.of("Drama"))).hasSize(64);
    }

    @Test
    void versionNamesTheDimension() {
        assertThat(text.version()).isEqualTo("text-hash-v1-d64");
        assertThat(new TextEmbedding(32).version()).isNotEqualTo(text.version());
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    static double norm(float[] a) {
        return Math.sqrt(dot(a, a));
    }
}
