package io.adaptrec.worker.data;

import java.util.List;

/**
 * A loaded dataset: the item catalogue and the interactions, in memory.
 *
 * <p>Every loader (MovieLens-100K, MovieLens-1M, generic CSV, the synthetic generator) produces
 * this one shape; replay, training and evaluation consume it. Times are epoch millis.
 *
 * @param name         short name for reports, e.g. {@code "ml-100k"}
 * @param items        the catalogue, one entry per item id
 * @param interactions all interactions, sorted by event time (ties by user id, then a seeded pseudo-random
 *                     rank of the item among the user's same-time events: the loaders' order)
 */
public record Dataset(String name, List<Item> items, List<Event> interactions) {

    /** One catalogue entry. Genres may be empty, never null. */
    public record Item(long itemId, String title, List<String> genres) {}

    /** One user-item interaction. {@code rating} is null where the source has none. */
    public record Event(long userId, long itemId, long eventTimeMillis, Float rating) {}

    public Dataset {
        items = List.copyOf(items);
        interactions = List.copyOf(interactions);
    }

    /** The interactions in event-time order (stable: ties keep dataset order). */
    public List<Event> byTime() {
        List<Event> out = new java.util.ArrayList<>(interactions);
        out.sort(java.util.Comparator.comparingLong(Event::eventTimeMillis));
        return out;
    }

    /** Index of the time cut that keeps the earliest {@code fraction} of {@link #byTime()}. */
    public int timeCut(double fraction) {
        if (fraction <= 0 || fraction > 1) {
            throw new IllegalArgumentException("fraction must be in (0, 1], got " + fraction);
        }
        return (int) Math.round(interactions.size() * fraction);
    }

    /** The same catalogue with only the earliest {@code fraction} of the interactions (by event time). */
    public Dataset earliest(double fraction) {
        return fraction == 1 ? this : new Dataset(name, items, byTime().subList(0, timeCut(fraction)));
    }
}
