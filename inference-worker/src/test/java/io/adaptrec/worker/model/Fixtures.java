package io.adaptrec.worker.model;

import io.adaptrec.worker.data.Dataset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Named test data: a small catalogue and users with a planted "next item = item + 1" habit. */
public final class Fixtures {

    static final int ITEMS = 60;
    static final List<String> GENRES = List.of("Drama", "Comedy", "Sci-Fi");

    private Fixtures() {}

    public static List<Dataset.Item> catalogue() {
        List<Dataset.Item> out = new ArrayList<>();
        for (int i = 1; i <= ITEMS; i++) {
            out.add(new Dataset.Item(i, "Movie Number " + i + " (199" + (i % 10) + ")",
                    List.of(GENRES.get(i % GENRES.size()))));
        }
        return out;
    }

    /** Users walk the catalogue in steps of one from a random start, so the next item is predictable. */
    public static Map<Long, long[]> sequences(int users, int length, long seed) {
        Random rnd = new Random(seed);
        Map<Long, long[]> out = new LinkedHashMap<>();
        for (long u = 1; u <= users; u++) {
            long[] s = new long[length];
            int start = 1 + rnd.nextInt(ITEMS - length);
            for (int j = 0; j < length; j++) {
                s[j] = start + j;
            }
            out.put(u, s);
        }
        return out;
    }

    public static Vocabulary vocabulary() {
        return Vocabulary.build(catalogue(), RecLMSystem.templateWords());
    }

    public static RecLMConfig tinyConfig() {
        return new RecLMConfig(16, 2, 1, 128, 0f, true, 4, 8f, false);
    }

    public static TrainConfig tinyTraining() {
        return new TrainConfig(7, 2, 20, 1, 1, 2, 16, 3e-3f, 3e-3f, 2, 5, 9, 1f, 0.3f, 2);
    }
}
