package io.adaptrec.worker.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * Generates interactions with structure a recommender can find, so tests can demand that a model
 * learns something:
 *
 * <ul>
 *   <li><b>taste clusters</b>: every user and item belongs to one of {@code clusters}; a user draws
 *       from their cluster's items with probability {@code clusterAffinity};</li>
 *   <li><b>sequential patterns</b>: every item has one planted successor in its cluster, chosen
 *       next with probability {@code successorProbability};</li>
 *   <li><b>popularity skew</b>: draws are Zipf-weighted by a random popularity rank;</li>
 *   <li><b>text</b>: titles draw their nouns and genres from the cluster's pool, so a text-aware
 *       model can place a never-seen item near its cluster.</li>
 * </ul>
 *
 * <p>The world (catalogue, clusters, successors) comes from the seed; each user's events come from
 * a random stream seeded by (seed, user id), so output is identical for a seed however it is
 * consumed. {@link #events()} merges the users lazily in time order (memory grows with the number
 * of users, not of events), which is what replay and the streaming benchmarks need.
 */
public final class SyntheticGenerator implements Iterable<Dataset.Event> {

    private static final String[] GENRES = {"Action", "Adventure", "Animation", "Children's", "Comedy",
        "Crime", "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
        "Sci-Fi", "Thriller", "War", "Western"};
    private static final String[] ADJECTIVES = {"Silent", "Crimson", "Last", "Hidden", "Golden", "Broken",
        "Endless", "Wild", "Frozen", "Burning", "Secret", "Lonely", "Midnight", "Electric", "Distant",
        "Forgotten", "Restless", "Velvet", "Iron", "Shining", "Savage", "Gentle", "Hollow", "Brave"};
    private static final String[] NOUNS = {"River", "Empire", "Garden", "Detective", "Planet", "Kingdom",
        "Highway", "Orchestra", "Ghost", "Robot", "Harbor", "Dragon", "Circus", "Soldier", "Island", "Castle",
        "Prairie", "Spy", "Galaxy", "Wedding", "Mountain", "Outlaw", "Witch", "Symphony", "Storm", "Jungle",
        "Android", "Sheriff", "Vampire", "Carnival", "Fortress", "Comet", "Pirate", "Ballroom", "Desert",
        "Reactor", "Mansion", "Canyon", "Lantern", "Station", "Voyage", "Shadow", "Academy", "Meadow",
        "Bandit", "Nebula", "Cathedral", "Tornado"};
    private static final int MAX_DRAWS = 64;

    private final SyntheticConfig config;
    private final List<Dataset.Item> items;
    // All arrays below are indexed by item index = itemId - 1.
    private final int[] itemCluster;
    private final int[] successor;
    private final int[][] clusterItems;        // cluster -> item indices
    private final double[][] clusterCumWeights; // cluster -> cumulative Zipf weights of clusterItems
    private final double[] globalCumWeights;
    private final int[] allItems;
    private final int[] userCluster;           // indexed by userId - 1

    public SyntheticGenerator(SyntheticConfig config) {
        this.config = config;
        SplittableRandom rng = new SplittableRandom(config.seed());
        int n = config.items();
        int c = config.clusters();

        itemCluster = new int[n];
        int[] order = permutation(n, rng);
        for (int i = 0; i < n; i++) {
            itemCluster[order[i]] = i % c; // round robin over a shuffle: equal-sized clusters
        }
        int[] popularityRank = permutation(n, rng);
        double[] weight = new double[n];
        for (int i = 0; i < n; i++) {
            weight[i] = Math.pow(popularityRank[i] + 1.0, -config.zipfExponent());
        }
        allItems = identity(n);
        globalCumWeights = cumulative(weight, allItems);

        List<List<Integer>> members = new ArrayList<>();
        for (int k = 0; k < c; k++) {
            members.add(new ArrayList<>());
        }
        for (int i = 0; i < n; i++) {
            members.get(itemCluster[i]).add(i);
        }
        clusterItems = new int[c][];
        clusterCumWeights = new double[c][];
        for (int k = 0; k < c; k++) {
            clusterItems[k] = members.get(k).stream().mapToInt(Integer::intValue).toArray();
            clusterCumWeights[k] = cumulative(weight, clusterItems[k]);
        }

        successor = new int[n];
        for (int i = 0; i < n; i++) {
            int[] pool = clusterItems[itemCluster[i]];
            int pick;
            do {
                pick = pool[rng.nextInt(pool.length)];
            } while (pick == i); // clusters hold >= 2 items, so this ends
            successor[i] = pick;
        }

        userCluster = new int[config.users()];
        for (int u = 0; u < userCluster.length; u++) {
            userCluster[u] = rng.nextInt(c);
        }
        items = buildCatalogue(rng);
    }

    public SyntheticConfig config() {
        return config;
    }

    public List<Dataset.Item> items() {
        return items;
    }

    public String name() {
        return "synthetic-s" + config.seed();
    }

    /** Ground truth for tests and demos: the planted successor of an item. */
    public long successorOf(long itemId) {
        return successor[itemIndex(itemId)] + 1L;
    }

    public int clusterOfItem(long itemId) {
        return itemCluster[itemIndex(itemId)];
    }

    public int clusterOfUser(long userId) {
        if (userId < 1 || userId > config.users()) {
            throw new IllegalArgumentException("user " + userId + " is outside 1.." + config.users());
        }
        return userCluster[(int) (userId - 1)];
    }

    /** The genres a cluster's items mostly carry (its two primary genres). */
    public List<String> clusterGenres(int cluster) {
        return List.of(GENRES[(2 * cluster) % GENRES.length], GENRES[(2 * cluster + 1) % GENRES.length]);
    }

    /** All events, in time order (ties by user id), generated lazily. */
    @Override
    public Iterator<Dataset.Event> iterator() {
        return new MergedEvents();
    }

    public Stream<Dataset.Event> events() {
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(iterator(),
                Spliterator.ORDERED | Spliterator.NONNULL | Spliterator.IMMUTABLE), false);
    }

    /** Materialises everything; for sizes that fit in memory (1M events is ~60 MB). */
    public Dataset dataset() {
        List<Dataset.Event> events = new ArrayList<>((int) Math.min(Integer.MAX_VALUE - 8, config.expectedEvents()));
        iterator().forEachRemaining(events::add);
        return new Dataset(name(), items, events);
    }

    private int itemIndex(long itemId) {
        if (itemId < 1 || itemId > config.items()) {
            throw new IllegalArgumentException("item " + itemId + " is outside 1.." + config.items());
        }
        return (int) (itemId - 1);
    }

    private List<Dataset.Item> buildCatalogue(SplittableRandom rng) {
        List<Dataset.Item> catalogue = new ArrayList<>(config.items());
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < config.items(); i++) {
            int cluster = itemCluster[i];
            String noun = clusterNoun(cluster, rng);
            String adjective = ADJECTIVES[rng.nextInt(ADJECTIVES.length)];
            String base = switch (rng.nextInt(3)) {
                case 0 -> "The " + adjective + " " + noun;
                case 1 -> noun + " of the " + adjective + " " + clusterNoun(cluster, rng);
                default -> adjective + " " + noun + "s";
            };
            int copies = seen.merge(base, 1, Integer::sum);
            String title = (copies == 1 ? base : base + " " + roman(copies)) + " (" + (1950 + rng.nextInt(70)) + ")";

            List<String> primary = clusterGenres(cluster);
            List<String> genres = new ArrayList<>();
            genres.add(primary.get(rng.nextInt(2)));
            if (rng.nextDouble() < 0.5) {
                String other = primary.get(0).equals(genres.get(0)) ? primary.get(1) : primary.get(0);
                genres.add(other);
            }
            if (rng.nextDouble() < 0.15) {
                String noise = GENRES[rng.nextInt(GENRES.length)];
                if (!genres.contains(noise)) {
                    genres.add(noise);
                }
            }
            catalogue.add(new Dataset.Item(i + 1L, title, genres));
        }
        return List.copyOf(catalogue);
    }

    /** Nouns are dealt to clusters round robin, so title words identify a cluster. */
    private String clusterNoun(int cluster, SplittableRandom rng) {
        int perCluster = Math.max(1, NOUNS.length / config.clusters());
        int slot = rng.nextInt(perCluster);
        return NOUNS[(cluster + slot * config.clusters()) % NOUNS.length];
    }

    private static String roman(int n) {
        String[] numerals = {"", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"};
        return n < numerals.length ? numerals[n] : Integer.toString(n);
    }

    private static int[] identity(int n) {
        int[] a = new int[n];
        Arrays.setAll(a, i -> i);
        return a;
    }

    private static int[] permutation(int n, SplittableRandom rng) {
        int[] a = identity(n);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }

    private static double[] cumulative(double[] weight, int[] indices) {
        double[] cum = new double[indices.length];
        double sum = 0;
        for (int i = 0; i < indices.length; i++) {
            sum += weight[indices[i]];
            cum[i] = sum;
        }
        return cum;
    }

    private static int draw(double[] cum, int[] indices, SplittableRandom rng) {
        double x = rng.nextDouble() * cum[cum.length - 1];
        int pos = Arrays.binarySearch(cum, x);
        pos = pos >= 0 ? pos + 1 : -pos - 1;
        return indices[Math.min(pos, indices.length - 1)];
    }

    /** One user's lazily generated sequence. */
    private final class UserStream {
        final long userId;
        final SplittableRandom rng;
        int remaining;
        long nextTime;
        int last = -1;
        ItemSet consumed;

        UserStream(long userId) {
            this.userId = userId;
            // Mixing the user id into the seed makes each user's stream independent of merge order.
            this.rng = new SplittableRandom(config.seed() * 0x9E3779B97F4A7C15L + userId);
            this.remaining = config.minEventsPerUser()
                    + rng.nextInt(config.maxEventsPerUser() - config.minEventsPerUser() + 1);
            this.nextTime = config.startMillis() + (long) (rng.nextDouble() * config.userStartSpreadMillis());
        }

        Dataset.Event next() {
            if (consumed == null) {
                consumed = new ItemSet(remaining);
            }
            int item = pickItem();
            consumed.add(item);
            last = item;
            Dataset.Event event = new Dataset.Event(userId, item + 1L, nextTime, null);
            remaining--;
            double gap = -Math.log(1.0 - rng.nextDouble()) * config.meanGapMillis();
            nextTime += Math.max(1000L, Math.round(gap));
            return event;
        }

        private int pickItem() {
            if (last >= 0 && rng.nextDouble() < config.successorProbability() && !consumed.contains(successor[last])) {
                return successor[last];
            }
            int cluster = userCluster[(int) (userId - 1)];
            for (int attempt = 0; attempt < MAX_DRAWS; attempt++) {
                int pick = rng.nextDouble() < config.clusterAffinity()
                        ? draw(clusterCumWeights[cluster], clusterItems[cluster], rng)
                        : draw(globalCumWeights, allItems, rng);
                if (!consumed.contains(pick)) {
                    return pick;
                }
            }
            // Heavy skew can make random draws keep hitting consumed items; a user never consumes
            // more than half the catalogue, so a scan always finds one.
            int start = rng.nextInt(config.items());
            for (int k = 0; k < config.items(); k++) {
                int pick = (start + k) % config.items();
                if (!consumed.contains(pick)) {
                    return pick;
                }
            }
            throw new IllegalStateException("user " + userId + " consumed the whole catalogue");
        }
    }

    /** Tiny open-addressing set of item indices; a HashSet per user would dominate memory at 1M events. */
    private static final class ItemSet {
        private final int[] slots;

        ItemSet(int expected) {
            slots = new int[Integer.highestOneBit(Math.max(4, expected) * 2) * 2];
            Arrays.fill(slots, -1);
        }

        boolean contains(int v) {
            for (int i = mix(v) & (slots.length - 1); ; i = (i + 1) & (slots.length - 1)) {
                if (slots[i] == v) {
                    return true;
                }
                if (slots[i] == -1) {
                    return false;
                }
            }
        }

        void add(int v) {
            int i = mix(v) & (slots.length - 1);
            while (slots[i] != -1 && slots[i] != v) {
                i = (i + 1) & (slots.length - 1);
            }
            slots[i] = v;
        }

        private static int mix(int v) {
            return v * 0x9E3779B9 >>> 7;
        }
    }

    private final class MergedEvents implements Iterator<Dataset.Event> {
        private final PriorityQueue<UserStream> queue = new PriorityQueue<>(Math.max(1, config.users()),
                (a, b) -> a.nextTime != b.nextTime ? Long.compare(a.nextTime, b.nextTime) : Long.compare(a.userId, b.userId));

        MergedEvents() {
            for (long u = 1; u <= config.users(); u++) {
                queue.add(new UserStream(u));
            }
        }

        @Override
        public boolean hasNext() {
            return !queue.isEmpty();
        }

        @Override
        public Dataset.Event next() {
            UserStream head = queue.poll();
            if (head == null) {
                throw new NoSuchElementException();
            }
            Dataset.Event event = head.next();
            if (head.remaining > 0) {
                queue.add(head);
            } else {
                head.consumed = null;
            }
            return event;
        }
    }
}
