package io.adaptrec.worker.eval;

import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.SyntheticConfig;
import io.adaptrec.worker.data.SyntheticGenerator;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;

/** Named test data for the evaluation tests. */
final class Fixtures {

    static final long T0 = 1_700_000_000_000L;
    static final long MINUTE = 60_000L;

    /** 200 users, 400 items, 4 clusters, 20-40 events each: structure strong enough to learn. */
    static final SyntheticConfig SYNTHETIC = SyntheticConfig.defaults().withSeed(11)
            .withSize(200, 400, 20, 40).withStructure(4, 0.8, 0.6, 1.0);

    private Fixtures() {}

    static Dataset.Event interaction(long user, long item, long at) {
        return new Dataset.Event(user, item, at, null);
    }

    static List<Dataset.Item> catalogue(int items) {
        return LongStream.rangeClosed(1, items).mapToObj(i -> new Dataset.Item(i, "item " + i, List.of())).toList();
    }

    static Dataset synthetic() {
        return new SyntheticGenerator(SYNTHETIC).dataset();
    }

    /** Sorts the events as loaders do, so tests can list them in any order. */
    static Dataset dataset(int items, List<Dataset.Event> events) {
        List<Dataset.Event> sorted = new ArrayList<>(events);
        sorted.sort((a, b) -> a.eventTimeMillis() != b.eventTimeMillis()
                ? Long.compare(a.eventTimeMillis(), b.eventTimeMillis())
                : a.userId() != b.userId() ? Long.compare(a.userId(), b.userId()) : Long.compare(a.itemId(), b.itemId()));
        return new Dataset("fixture", catalogue(items), sorted);
    }
}
