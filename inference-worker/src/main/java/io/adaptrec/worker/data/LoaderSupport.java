package io.adaptrec.worker.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

/**
 * Field parsing shared by the file loaders. Parsers throw {@link IllegalArgumentException} whose
 * message is the human reason; the loader adds file and line and hands it to {@link LineProblems}.
 */
final class LoaderSupport {

    /**
     * Seed of the tie rule among one user's events at the same time (fixed, so every load of a
     * dataset gives the same order).
     */
    static final long TIE_SEED = 0x5EEDC0FFEEL;

    /**
     * The order {@link Dataset#interactions()} promises: time, then user, then, for one user's events
     * within the same timestamp (MovieLens rates in bursts of one second), a seeded pseudo-random rank of
     * the item ({@link #tieRank}), then the item. Not the item id itself: ids follow the catalogue's
     * order, and a sequence model would learn that artificial order as if it were behaviour.
     */
    static final Comparator<Dataset.Event> EVENT_ORDER = Comparator
            .comparingLong(Dataset.Event::eventTimeMillis)
            .thenComparingLong(Dataset.Event::userId)
            .thenComparingLong(e -> tieRank(e.userId(), e.itemId()))
            .thenComparingLong(Dataset.Event::itemId);

    /** SplitMix64 of ({@link #TIE_SEED}, user, item): where an item falls among the user's same-time events. */
    static long tieRank(long user, long item) {
        long z = (TIE_SEED * 0x9E3779B97F4A7C15L + user) * 0x9E3779B97F4A7C15L + item;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private LoaderSupport() {}

    static Path requireFile(Path dir, String name) {
        Path file = dir.resolve(name);
        if (!Files.isRegularFile(file)) {
            throw new MalformedDataException(file, 0, "file not found (expected in " + dir + ")");
        }
        return file;
    }

    static long parseNonNegative(String raw, String what) {
        String text = raw.trim();
        try {
            long id = Long.parseLong(text);
            if (id < 0) {
                throw new IllegalArgumentException(what + " must be >= 0, got " + text);
            }
            return id;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " is not an integer: '" + text + "'");
        }
    }

    /** Empty means "no rating"; anything else must be a finite number. */
    static Float parseRating(String raw) {
        String text = raw.trim();
        if (text.isEmpty()) {
            return null;
        }
        try {
            float rating = Float.parseFloat(text);
            if (!Float.isFinite(rating)) {
                throw new IllegalArgumentException("rating is not finite: '" + text + "'");
            }
            return rating;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("rating is not a number: '" + text + "'");
        }
    }

    static void requireFieldCount(String[] fields, int expected, String layout) {
        if (fields.length != expected) {
            throw new IllegalArgumentException("expected " + expected + " fields (" + layout + "), found "
                    + fields.length);
        }
    }

    static void sortEvents(List<Dataset.Event> events) {
        events.sort(EVENT_ORDER);
    }
}
