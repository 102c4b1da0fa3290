package io.adaptrec.worker.eval;

import io.adaptrec.worker.data.Dataset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A dataset cut into what may be learned from and what is held out, by one {@link Protocol}.
 *
 * <p>Leak-freedom is structural: {@link #training()} is built only from events strictly before
 * every held-out target of the same user (loo) or only from other users (llara), and recommenders
 * receive {@link #trainingData(long)}, never the split itself. Candidates are drawn per seed by
 * {@link #cases(Stage, long)}; the holdouts themselves do not depend on the seed.
 *
 * <ul>
 *   <li>llara: users with at least {@code minSequenceLength} interactions, ordered by first
 *       interaction time (ties by user id), are cut 80/10/10 into train/validation/test users.
 *       Train users' full sequences are the training data; a validation or test user's target is
 *       their last item and the query history the up to {@code maxHistory} items before it.</li>
 *   <li>loo: every such user contributes a training prefix (all but the last two items), a
 *       validation case (second-last item) and a test case (last item, whose history may include
 *       the validation item).</li>
 * </ul>
 */
public final class Split {

    private final String dataset;
    private final Protocol protocol;
    private final ProtocolConfig config;
    private final List<Dataset.Item> catalogue;
    private final long[] itemIds;
    private final Map<Long, UserSequence> training;
    private final List<Holdout> validation;
    private final List<Holdout> test;
    private final int users;
    private final int droppedShort;
    private final int droppedNoNegatives;
    private boolean timeSafe = true;

    private Split(String dataset, Protocol protocol, ProtocolConfig config, List<Dataset.Item> catalogue,
            Map<Long, UserSequence> training, List<Holdout> validation, List<Holdout> test, int users,
            int droppedShort, int droppedNoNegatives) {
        this.dataset = dataset;
        this.protocol = protocol;
        this.config = config;
        this.catalogue = catalogue;
        this.itemIds = catalogue.stream().mapToLong(Dataset.Item::itemId).sorted().toArray();
        this.training = Collections.unmodifiableMap(training);
        this.validation = List.copyOf(validation);
        this.test = List.copyOf(test);
        this.users = users;
        this.droppedShort = droppedShort;
        this.droppedNoNegatives = droppedNoNegatives;
    }

    public static Split create(Dataset dataset, Protocol protocol) {
        return create(dataset, protocol, ProtocolConfig.paper());
    }

    public static Split create(Dataset dataset, Protocol protocol, ProtocolConfig config) {
        Objects.requireNonNull(dataset, "dataset");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(config, "config");
        List<UserSequence> all = sequencesByFirstInteraction(dataset);
        List<UserSequence> eligible = all.stream().filter(s -> s.length() >= config.minSequenceLength()).toList();
        long[] catalogueSorted = dataset.items().stream().mapToLong(Dataset.Item::itemId).sorted().toArray();

        Map<Long, UserSequence> training = new LinkedHashMap<>();
        List<Holdout> validation = new ArrayList<>();
        List<Holdout> test = new ArrayList<>();
        if (protocol == Protocol.LLARA) {
            int trainUsers = (int) Math.floor(eligible.size() * config.trainFraction());
            int validUsers = (int) Math.floor(eligible.size() * config.validFraction());
            for (int i = 0; i < eligible.size(); i++) {
                UserSequence s = eligible.get(i);
                if (i < trainUsers) {
                    training.put(s.userId(), s);
                } else {
                    (i < trainUsers + validUsers ? validation : test).add(holdout(s, s.length() - 1, config));
                }
            }
        } else {
            for (UserSequence s : eligible) {
                int n = s.length();
                training.put(s.userId(), new UserSequence(s.userId(), Arrays.copyOf(s.items(), n - 2),
                        Arrays.copyOf(s.timesMillis(), n - 2)));
                validation.add(holdout(s, n - 2, config));
                test.add(holdout(s, n - 1, config));
            }
        }
        int before = validation.size() + test.size();
        validation.removeIf(h -> !CandidateSampler.feasible(catalogueSorted, h, config.candidates() - 1));
        test.removeIf(h -> !CandidateSampler.feasible(catalogueSorted, h, config.candidates() - 1));
        int droppedNoNegatives = before - validation.size() - test.size();
        return new Split(dataset.name(), protocol, config, dataset.items(), training, validation, test,
                all.size(), all.size() - eligible.size(), droppedNoNegatives);
    }

    /** Groups by user; dataset order is time order, so insertion order is first-interaction order. */
    private static List<UserSequence> sequencesByFirstInteraction(Dataset dataset) {
        Map<Long, LongPairs> byUser = new LinkedHashMap<>();
        long previousTime = Long.MIN_VALUE;
        for (Dataset.Event e : dataset.interactions()) {
            if (e.eventTimeMillis() < previousTime) {
                // The protocols' notion of "last" and "first" depends on it; loaders guarantee it.
                throw new IllegalArgumentException("dataset " + dataset.name()
                        + " interactions are not sorted by time (event " + e + ")");
            }
            previousTime = e.eventTimeMillis();
            byUser.computeIfAbsent(e.userId(), u -> new LongPairs()).add(e.itemId(), e.eventTimeMillis());
        }
        List<UserSequence> out = new ArrayList<>(byUser.size());
        byUser.forEach((user, pairs) -> out.add(pairs.toSequence(user)));
        return out;
    }

    private static Holdout holdout(UserSequence s, int targetIndex, ProtocolConfig config) {
        long[] items = s.items();
        int from = Math.max(0, targetIndex - config.maxHistory());
        long[] history = Arrays.copyOfRange(items, from, targetIndex);
        long[] interacted = Arrays.stream(items).distinct().sorted().toArray();
        long[] seenBefore = Arrays.stream(items, 0, targetIndex).distinct().sorted().toArray();
        return new Holdout(s.userId(), history, items[targetIndex], s.timesMillis()[targetIndex], interacted,
                seenBefore);
    }

    /**
     * This split with its queries time-safe (the default: each query carries its target's time, and
     * recommenders use nothing of other users from that moment on) or not ({@code false}: queries carry
     * no moment, so pools, demonstrations and popularity see whole training sequences, the behaviour
     * before time-safety, for comparison only).
     */
    public Split withTimeSafety(boolean on) {
        Split copy = new Split(dataset, protocol, config, catalogue, training, validation, test, users, droppedShort,
                droppedNoNegatives);
        copy.timeSafe = on;
        return copy;
    }

    public boolean timeSafe() {
        return timeSafe;
    }

    private long asOf(Holdout h) {
        return timeSafe ? h.targetTimeMillis() : Long.MAX_VALUE;
    }

    /** Queries with candidates drawn for {@code seed}: identical for every call with the same seed. */
    public List<EvalCase> cases(Stage stage, long seed) {
        List<Holdout> holdouts = holdouts(stage);
        List<EvalCase> out = new ArrayList<>(holdouts.size());
        for (Holdout h : holdouts) {
            long[] candidates = CandidateSampler.candidates(itemIds, h, config.candidates(), seed);
            out.add(new EvalCase(new Query(h.userId(), h.history(), candidates, asOf(h)), h.target()));
        }
        return out;
    }

    public List<EvalCase> validationCases(long seed) {
        return cases(Stage.VALIDATION, seed);
    }

    public List<EvalCase> testCases(long seed) {
        return cases(Stage.TEST, seed);
    }

    /**
     * Full-catalogue queries: every catalogue item the user had not interacted with before the
     * target, plus the target. Seed-independent.
     */
    public List<EvalCase> fullRankingCases(Stage stage) {
        List<EvalCase> out = new ArrayList<>();
        for (Holdout h : holdouts(stage)) {
            long[] seen = h.seenBeforeTarget();
            long[] candidates = Arrays.stream(itemIds)
                    .filter(i -> i == h.target() || Arrays.binarySearch(seen, i) < 0)
                    .toArray();
            out.add(new EvalCase(new Query(h.userId(), h.history(), candidates, asOf(h)), h.target()));
        }
        return out;
    }

    /** What a recommender factory receives for {@code seed}: training sequences, catalogue, validation. */
    public TrainingData trainingData(long seed) {
        return new TrainingData(dataset, protocol, catalogue, training, validationCases(seed), seed);
    }

    public List<Holdout> holdouts(Stage stage) {
        return stage == Stage.TEST ? test : validation;
    }

    public String dataset() {
        return dataset;
    }

    public Protocol protocol() {
        return protocol;
    }

    public ProtocolConfig config() {
        return config;
    }

    public List<Dataset.Item> catalogue() {
        return catalogue;
    }

    /** Catalogue item ids, ascending. */
    public long[] itemIds() {
        return itemIds.clone();
    }

    /** Training sequences by user, in order of first interaction. Unmodifiable. */
    public Map<Long, UserSequence> training() {
        return training;
    }

    public long trainingInteractions() {
        return training.values().stream().mapToLong(UserSequence::length).sum();
    }

    /** Users in the dataset before any filtering. */
    public int users() {
        return users;
    }

    /** Users dropped for having fewer than {@code minSequenceLength} interactions. */
    public int droppedShort() {
        return droppedShort;
    }

    /** Held-out cases dropped because the user left fewer than {@code candidates - 1} items unseen. */
    public int droppedNoNegatives() {
        return droppedNoNegatives;
    }

    public String summary() {
        return String.format("%s/%s: %d users (%d dropped: < %d interactions), training %d users / %d "
                + "interactions, validation %d, test %d%s", dataset, protocol.cliName(), users, droppedShort,
                config.minSequenceLength(), training.size(), trainingInteractions(), validation.size(), test.size(),
                droppedNoNegatives > 0 ? ", " + droppedNoNegatives + " cases dropped (too few unseen items)" : "");
    }

    /** Growable parallel (item, time) arrays: avoids boxing 100k+ events into lists. */
    private static final class LongPairs {
        long[] items = new long[16];
        long[] times = new long[16];
        int size;

        void add(long item, long time) {
            if (size == items.length) {
                items = Arrays.copyOf(items, size * 2);
                times = Arrays.copyOf(times, size * 2);
            }
            items[size] = item;
            times[size++] = time;
        }

        UserSequence toSequence(long user) {
            return new UserSequence(user, Arrays.copyOf(items, size), Arrays.copyOf(times, size));
        }
    }
}
