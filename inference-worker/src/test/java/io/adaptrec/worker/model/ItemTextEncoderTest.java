package io.adaptrec.worker.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.worker.data.Dataset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The pretrained encoder runs offline from its Maven jar and carries language knowledge an id cannot. */
class ItemTextEncoderTest {

    @Test
    void relatedTitlesLieCloserThanUnrelatedOnesAndVectorsAreUnitLength() {
        String starWars = ItemTextEncoder.text(new Dataset.Item(1, "Star Wars (1977)", List.of("Action", "Sci-Fi")));
        assertThat(starWars).isEqualTo("Star Wars (1977). Action, Sci-Fi");
        float[][] v = ItemTextEncoder.encode(List.of(starWars, "Return of the Jedi (1983). Action, Sci-Fi",
                "Sense and Sensibility (1995). Drama, Romance", ""));
        assertThat(v).hasNumberOfRows(4);
        for (float[] x : v) {
            assertThat(x).hasSize(ItemTextEncoder.DIM);
            assertThat(dot(x, x)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-3));
        }
        assertThat(dot(v[0], v[1])).as("Star Wars · Return of the Jedi").isGreaterThan(dot(v[0], v[2]) + 0.1);
        assertThat(ItemTextEncoder.encode(List.of(starWars))[0]).as("cached, identical").isSameAs(v[0]);
        assertThat(ItemTextEncoder.text(new Dataset.Item(2, "Radiohead", List.of()))).isEqualTo("Radiohead");
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
