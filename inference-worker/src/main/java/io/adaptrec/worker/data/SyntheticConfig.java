package io.adaptrec.worker.data;

import java.time.Instant;

/**
 * Size and planted structure of a synthetic dataset. Every key is validated at construction with
 * a message naming it and its allowed range.
 *
 * @param seed                 same seed, same dataset, bit for bit
 * @param users                number of users (ids 1..users)
 * @param items                number of catalogue items (ids 1..items)
 * @param minEventsPerUser     each user gets a uniform count in [min, max] of distinct items
 * @param maxEventsPerUser     at most {@code items / 2}, so a user never exhausts the catalogue
 * @param clusters             taste clusters; users and items each belong to one
 * @param clusterAffinity      probability that a non-successor pick comes from the user's cluster
 *                             (otherwise from the whole catalogue by popularity)
 * @param successorProbability probability that the next item is the planted successor of the
 *                             previous one (if the user has not consumed it yet)
 * @param zipfExponent         popularity skew: weight of the item of popularity rank r is r^-s
 * @param startMillis          earliest event time
 * @param userStartSpreadMillis users start uniformly within this span after {@code startMillis}
 * @param meanGapMillis        mean of the exponential gap between one user's events (min 1 s)
 */
public record SyntheticConfig(long seed, int users, int items, int minEventsPerUser,
        int maxEventsPerUser, int clusters, double clusterAffinity, double successorProbability,
        double zipfExponent, long startMillis, long userStartSpreadMillis, long meanGapMillis) {

    /** 2024-01-01T00:00:00Z: a fixed origin so generated data never depends on the clock. */
    public static final long DEFAULT_START_MILLIS = Instant.parse("2024-01-01T00:00:00Z").toEpochMilli();

    public SyntheticConfig {
        require(users >= 1, "users", users, ">= 1");
        require(items >= 20, "items", items, ">= 20 (the evaluation protocols sample 20 candidates)");
        require(minEventsPerUser >= 1, "minEventsPerUser", minEventsPerUser, ">= 1");
        require(maxEventsPerUser >= minEventsPerUser, "maxEventsPerUser", maxEventsPerUser,
                ">= minEventsPerUser (" + minEventsPerUser + ")");
        require(maxEventsPerUser <= items / 2, "maxEventsPerUser", maxEventsPerUser,
                "<= items / 2 (" + items / 2 + ")");
        require(clusters >= 1 && clusters <= items / 2, "clusters", clusters, "in [1, items / 2]");
        require(clusterAffinity >= 0 && clusterAffinity <= 1, "clusterAffinity", clusterAffinity, "in [0, 1]");
        require(successorProbability >= 0 && successorProbability <= 1, "successorProbability",
                successorProbability, "in [0, 1]");
        require(zipfExponent >= 0 && zipfExponent <= 5, "zipfExponent", zipfExponent, "in [0, 5]");
        require(startMillis >= 0, "startMillis", startMillis, ">= 0");
        require(userStartSpreadMillis >= 0, "userStartSpreadMillis", userStartSpreadMillis, ">= 0");
        require(meanGapMillis >= 1000, "meanGapMillis", meanGapMillis, ">= 1000");
    }

    /** A small, clearly structured world: 1,000 users, 500 items, 8 clusters, ~40 events a user. */
    public static SyntheticConfig defaults() {
        return new SyntheticConfig(42L, 1000, 500, 20, 60, 8, 0.8, 0.5, 1.0,
                DEFAULT_START_MILLIS, 30L * 24 * 3600 * 1000, 3600L * 1000);
    }

    public SyntheticConfig withSeed(long newSeed) {
        return new SyntheticConfig(newSeed, users, items, minEventsPerUser, maxEventsPerUser, clusters,
                clusterAffinity, successorProbability, zipfExponent, startMillis, userStartSpreadMillis,
                meanGapMillis);
    }

    public SyntheticConfig withSize(int newUsers, int newItems, int newMinEvents, int newMaxEvents) {
        return new SyntheticConfig(seed, newUsers, newItems, newMinEvents, newMaxEvents,
                Math.min(clusters, newItems / 2), clusterAffinity, successorProbability, zipfExponent,
                startMillis, userStartSpreadMillis, meanGapMillis);
    }

    public SyntheticConfig withStructure(int newClusters, double newAffinity, double newSuccessor,
            double newZipf) {
        return new SyntheticConfig(seed, users, items, minEventsPerUser, maxEventsPerUser, newClusters,
                newAffinity, newSuccessor, newZipf, startMillis, userStartSpreadMillis, meanGapMillis);
    }

    /** Expected number of events, for progress bars and sizing. */
    public long expectedEvents() {
        return (long) users * (minEventsPerUser + maxEventsPerUser) / 2;
    }

    private static void require(boolean ok, String key, Object value, String range) {
        if (!ok) {
            throw new IllegalArgumentException("synthetic." + key + " = " + value + " is invalid: must be " + range);
        }
    }
}
