package io.adaptrec.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code --item-text}: the stand-in for catalogues whose text says nothing (names, not descriptions). */
class ItemTextTest {

    private static Dataset movies(int n) {
        List<Dataset.Item> items = new ArrayList<>();
        List<Dataset.Event> events = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            items.add(new Dataset.Item(i, "Toy Story " + i + " (1995)", List.of("Animation", "Comedy")));
            events.add(new Dataset.Event(7, i, 1000L * i, 4f));
        }
        return new Dataset("ml", items, events);
    }

    @Test
    void opaqueTitlesAreUniqueOneWordNamesWithoutGenresOrRatings() {
        Dataset d = movies(5000).withItemText(Dataset.ItemText.OPAQUE);
        assertThat(d.name()).isEqualTo("ml-opaque");
        assertThat(d.items()).hasSize(5000).allSatisfy(i -> {
            assertThat(i.title()).matches("[A-Z][a-z]{5,}");
            assertThat(i.genres()).isEmpty();
        });
        assertThat(new HashSet<>(d.items().stream().map(Dataset.Item::title).toList())).as("unique").hasSize(5000);
        assertThat(d.interactions()).hasSize(5000).allSatisfy(e -> assertThat(e.rating()).isNull());
        assertThat(d.interactions().get(3).itemId()).isEqualTo(4);
        assertThat(movies(3).withItemText(Dataset.ItemText.OPAQUE).items())
                .as("deterministic").isEqualTo(movies(3).withItemText(Dataset.ItemText.OPAQUE).items());
    }

    @Test
    void noGenresKeepsTitlesAndKeepChangesNothing() {
        Dataset d = movies(3);
        assertThat(d.withItemText(Dataset.ItemText.KEEP)).isSameAs(d);
        Dataset ng = d.withItemText(Dataset.ItemText.NO_GENRES);
        assertThat(ng.items().get(0).title()).isEqualTo("Toy Story 1 (1995)");
        assertThat(ng.items()).allSatisfy(i -> assertThat(i.genres()).isEmpty());
        assertThat(ng.interactions()).isEqualTo(d.interactions());
        assertThatThrownBy(() -> Dataset.ItemText.parse("none")).hasMessageContaining("keep, no-genres or opaque");
    }
}
