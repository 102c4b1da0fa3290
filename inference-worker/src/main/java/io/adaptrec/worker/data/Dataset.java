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

    /** How much item text a run may use ({@link #withItemText}). */
    public enum ItemText {
        /** titles and genres as loaded */
        KEEP,
        /** titles only, no genres */
        NO_GENRES,
        /**
         * Genres and ratings dropped, and every title replaced by a made-up one-word name unique to the item
         * (e.g. {@code "Vokedi"}), like artist names: the text then carries nothing that the item id does not.
         * MovieLens-100K this way stands in for datasets of another domain.
         */
        OPAQUE;

        public static ItemText parse(String s) {
            return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "keep" -> KEEP;
                case "no-genres" -> NO_GENRES;
                case "opaque" -> OPAQUE;
                default -> throw new IllegalArgumentException("--item-text must be keep, no-genres or opaque, got '" + s + "'");
            };
        }
    }

    /** This dataset with its item text reduced as {@code mode} says; its name says so (e.g. {@code ml-100k-opaque}). */
    public Dataset withItemText(ItemText mode) {
        return switch (mode) {
            case KEEP -> this;
            case NO_GENRES -> new Dataset(name + "-no-genres",
                    items.stream().map(i -> new Item(i.itemId(), i.title(), List.of())).toList(), interactions);
            case OPAQUE -> {
                java.util.Set<String> used = new java.util.HashSet<>();
                List<Item> opaque = new java.util.ArrayList<>(items.size());
                for (Item i : items) {
                    String n = opaqueName(i.itemId(), 0);
                    for (int k = 1; !used.add(n); k++) {
                        n = opaqueName(i.itemId(), k);
                    }
                    opaque.add(new Item(i.itemId(), n, List.of()));
                }
                yield new Dataset(name + "-opaque", opaque, interactions.stream()
                        .map(e -> new Event(e.userId(), e.itemId(), e.eventTimeMillis(), null)).toList());
            }
        };
    }

    /** A pronounceable made-up word drawn from the item id (and {@code salt} on a clash): consonant-vowel pairs. */
    static String opaqueName(long itemId, int salt) {
        long z = itemId * 0x9E3779B97F4A7C15L + salt * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 31)) * 0x94D049BB133111EBL;
        z ^= z >>> 29;
        String consonants = "bdfgklmnprstvz";
        String vowels = "aeiou";
        StringBuilder w = new StringBuilder();
        long x = z & Long.MAX_VALUE;
        for (int k = 0; k < 3; k++) {
            w.append(consonants.charAt((int) (x % consonants.length())));
            x /= consonants.length();
            w.append(vowels.charAt((int) (x % vowels.length())));
            x /= vowels.length();
        }
        w.setCharAt(0, Character.toUpperCase(w.charAt(0)));
        return w.toString();
    }

    /** The same catalogue with only the earliest {@code fraction} of the interactions (by event time). */
    public Dataset earliest(double fraction) {
        return fraction == 1 ? this : new Dataset(name, items, byTime().subList(0, timeCut(fraction)));
    }
}
