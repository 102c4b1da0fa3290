package io.adaptrec.streams;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which model embedding versions exist in the item-embeddings store, and which one user
 * embeddings are computed in.
 *
 * <p>Switch rule: the <em>newest</em> version is the one carried by the item-embedding record
 * with the greatest record timestamp (ties: the greater version string), so the result does not
 * depend on the order partitions are read in. User embeddings move to the newest version once it
 * covers at least {@code switchCoverage} of the catalogue (the larger of the catalogue size and
 * the number of items with any model vector). Until then they stay in the active version, whose
 * vectors the store keeps as each item's "previous" slot, so a model publish in progress never
 * leaves users with half their items missing. Before any model version reaches the coverage the
 * active space is the text embedding ({@code activeModelVersion == null}).
 *
 * @param counts items whose current (latest) vector is in each version
 */
record VersionStats(String newestVersion, long newestTimestamp, String activeModelVersion, Map<String, Long> counts) {

    static final VersionStats EMPTY = new VersionStats(null, Long.MIN_VALUE, null, Map.of());

    VersionStats {
        counts = Map.copyOf(counts);
    }

    long count(String version) {
        return counts.getOrDefault(version, 0L);
    }

    long modelItems() {
        long n = 0;
        for (long c : counts.values()) n += c;
        return n;
    }

    /** Records that one item's current vector moved from {@code from} (null: new item) to {@code to} (null: deleted). */
    VersionStats moved(String from, String to, long recordTimestamp) {
        Map<String, Long> next = new LinkedHashMap<>(counts);
        if (from != null) {
            long left = next.getOrDefault(from, 0L) - 1;
            if (left <= 0) next.remove(from); else next.put(from, left);
        }
        if (to != null) next.merge(to, 1L, Long::sum);
        String newest = newestVersion;
        long newestTs = newestTimestamp;
        if (to != null && (recordTimestamp > newestTs || (recordTimestamp == newestTs
                && (newest == null || to.compareTo(newest) > 0)))) {
            newest = to;
            newestTs = recordTimestamp;
        }
        return new VersionStats(newest, newestTs, activeModelVersion, next);
    }

    /** Applies the switch rule; returns this when the active version does not change. */
    VersionStats withActiveFor(long catalogueItems, double switchCoverage) {
        if (newestVersion == null || newestVersion.equals(activeModelVersion)) return this;
        double universe = Math.max(catalogueItems, modelItems());
        if (universe > 0 && count(newestVersion) >= switchCoverage * universe) {
            return new VersionStats(newestVersion, newestTimestamp, newestVersion, counts);
        }
        return this;
    }
}
