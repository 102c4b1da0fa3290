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

    /** The order {@link Dataset#interactions()} promises: time, then user, then item. */
    static final Comparator<Dataset.Event> EVENT_ORDER = Comparator
            .comparingLong(Dataset.Event::eventTimeMillis)
            .thenComparingLong(Dataset.Event::userId)
            .thenComparingLong(Dataset.Event::itemId);

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
