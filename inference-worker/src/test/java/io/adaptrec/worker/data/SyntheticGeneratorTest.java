package io.adaptrec.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SyntheticGeneratorTest {

    private static final SyntheticConfig SMALL = SyntheticConfig.defaults().withSeed(7)
            .withSize(300, 400, 20, 40).withStructure(4, 0.8, 0.5, 1.0);

    @Test
    void sameSeedSameDataDifferentSeedDifferentData() {
        Dataset a = new SyntheticGenerator(SMALL).dataset();
        Dataset b = new SyntheticGenerator(SMALL).dataset();
        Dataset c = new SyntheticGenerator(SMALL.withSeed(8)).dataset();
        assertThat(a.interactions()).isEqualTo(b.interactions());
        assertThat(a.items()).isEqualTo(b.items());
        assertThat(a.interactions()).isNotEqualTo(c.interactions());
        assertThat(a.items()).isNotEqualTo(c.items());
    }

    @Test
    void sizesOrderAndNoRepeats() {
        Dataset d = new SyntheticGenerator(SMALL).dataset();
        assertThat(d.items()).hasSize(400);
        assertThat(d.interactions()).isSortedAccordingTo(LoaderSupport.EVENT_ORDER);
        Map<Long, List<Long>> byUser = byUser(d);
        assertThat(byUser).hasSize(300);
        for (List<Long> items : byUser.values()) {
            assertThat(items.size()).isBetween(20, 40);
            assertThat(new HashSet<>(items)).hasSameSizeAs(items);
        }
        assertThat(d.items()).allSatisfy(item -> {
            assertThat(item.title()).matches("[A-Z][A-Za-z ]+\\(\\d{4}\\)");
            assertThat(item.genres()).isNotEmpty();
        });
        assertThat(d.items().stream().map(Dataset.Item::title).distinct().count()).isEqualTo(400);
    }

    @Test
    void plantedSuccessorsClustersAndGenresShowInTheData() {
        SyntheticGenerator gen = new SyntheticGenerator(SMALL);
        Dataset d = gen.dataset();
        long pairs = 0;
        long successorPairs = 0;
        long inCluster = 0;
        for (Map.Entry<Long, List<Long>> e : byUser(d).entrySet()) {
            List<Long> items = e.getValue();
            int cluster = gen.clusterOfUser(e.getKey());
            for (int i = 0; i < items.size(); i++) {
                if (gen.clusterOfItem(items.get(i)) == cluster) {
                    inCluster++;
                }
                if (i > 0) {
                    pairs++;
                    if (items.get(i) == gen.successorOf(items.get(i - 1))) {
                        successorPairs++;
                    }
                }
            }
        }
        // successorProbability 0.5 minus the times the successor was already consumed; chance is ~1/400.
        assertThat((double) successorPairs / pairs).isBetween(0.35, 0.55);
        // Chains of successors stay in the cluster of the item they start from, so the expected share
        // is ~0.85 (x = 0.5x + 0.5 * (0.8 + 0.2 / 4)) less successors already consumed; chance is 0.25.
        assertThat((double) inCluster / d.interactions().size()).isGreaterThan(0.70);
        for (Dataset.Item item : d.items()) {
            assertThat(gen.clusterGenres(gen.clusterOfItem(item.itemId()))).contains(item.genres().get(0));
            assertThat(gen.clusterOfItem(gen.successorOf(item.itemId()))).isEqualTo(gen.clusterOfItem(item.itemId()));
        }
    }

    @Test
    void popularityIsSkewed() {
        Dataset d = new SyntheticGenerator(SMALL).dataset();
        Map<Long, Integer> counts = new HashMap<>();
        d.interactions().forEach(e -> counts.merge(e.itemId(), 1, Integer::sum));
        List<Integer> sorted = counts.values().stream().sorted((x, y) -> y - x).toList();
        int top10 = sorted.stream().limit(40).mapToInt(Integer::intValue).sum();
        // Uniform popularity would give the top 10% of items ~10% of events (a little more by chance).
        assertThat((double) top10 / d.interactions().size()).isGreaterThan(0.25);
    }

    @Test
    void streamsAMillionEventsInTimeOrderQuickly() {
        SyntheticConfig big = SyntheticConfig.defaults().withSize(25_000, 5_000, 30, 50);
        long t0 = System.nanoTime();
        Iterator<Dataset.Event> it = new SyntheticGenerator(big).iterator();
        long n = 0;
        long outOfOrder = 0;
        Dataset.Event previous = null;
        while (it.hasNext()) {
            Dataset.Event e = it.next();
            if (previous != null && LoaderSupport.EVENT_ORDER.compare(previous, e) >= 0) {
                outOfOrder++;
            }
            previous = e;
            n++;
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("synthetic: %d events in %.2f s (%.0f events/s)%n", n, seconds, n / seconds);
        assertThat(n).isGreaterThanOrEqualTo(1_000_000);
        assertThat(outOfOrder).isZero();
        assertThat(seconds).as("1M events must generate in seconds").isLessThan(30);
    }

    @Test
    void rejectsImpossibleConfigsWithTheKeyName() {
        assertThatThrownBy(() -> SyntheticConfig.defaults().withSize(10, 100, 10, 60))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("synthetic.maxEventsPerUser = 60")
                .hasMessageContaining("items / 2");
        assertThatThrownBy(() -> SyntheticConfig.defaults().withStructure(8, 1.5, 0.5, 1.0))
                .hasMessageContaining("synthetic.clusterAffinity");
    }

    @Test
    void datasetsEntryPointGeneratesWithoutADirectory() {
        LoadResult r = Datasets.load("synthetic", null, LoadOptions.defaults().withSynthetic(SMALL));
        assertThat(r.dataset().interactions()).isEqualTo(new SyntheticGenerator(SMALL).dataset().interactions());
        assertThat(r.dataset().name()).isEqualTo("synthetic-s7");
    }

    static Map<Long, List<Long>> byUser(Dataset d) {
        Map<Long, List<Long>> byUser = new HashMap<>();
        d.interactions().forEach(e -> byUser.computeIfAbsent(e.userId(), u -> new ArrayList<>()).add(e.itemId()));
        return byUser;
    }

    static Set<Long> users(Dataset d) {
        Set<Long> users = new HashSet<>();
        d.interactions().forEach(e -> users.add(e.userId()));
        return users;
    }
}
