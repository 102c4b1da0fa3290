package io.adaptrec.worker.data;

import static io.adaptrec.worker.data.LoaderSupport.parseNonNegative;
import static io.adaptrec.worker.data.LoaderSupport.parseRating;
import static io.adaptrec.worker.data.LoaderSupport.requireFieldCount;
import static io.adaptrec.worker.data.LoaderSupport.requireFile;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * MovieLens-100K ({@code u.data}, {@code u.item}, {@code u.genre}) and MovieLens-1M
 * ({@code ratings.dat}, {@code movies.dat}). Both ship in ISO-8859-1 with timestamps in seconds.
 */
public final class MovieLensLoader {

    public static final String ML100K_RATINGS = "u.data";
    public static final String ML100K_ITEMS = "u.item";
    public static final String ML100K_GENRES = "u.genre";
    public static final String ML1M_RATINGS = "ratings.dat";
    public static final String ML1M_ITEMS = "movies.dat";

    /** u.item: id | title | release date | video release date | IMDb URL | one flag per genre. */
    private static final int ML100K_FIXED_ITEM_FIELDS = 5;
    private static final Pattern ML1M_SEPARATOR = Pattern.compile("::", Pattern.LITERAL);
    private static final Pattern PIPE = Pattern.compile("|", Pattern.LITERAL);

    private MovieLensLoader() {}

    /** True when {@code dir} looks like MovieLens-100K or -1M. */
    public static boolean recognises(Path dir) {
        return Files.isRegularFile(dir.resolve(ML100K_RATINGS)) || Files.isRegularFile(dir.resolve(ML1M_RATINGS));
    }

    /** Picks 100K or 1M by the ratings file present. */
    public static LoadResult load(Path dir, boolean lenient) {
        if (Files.isRegularFile(dir.resolve(ML100K_RATINGS))) {
            return load100k(dir, lenient);
        }
        if (Files.isRegularFile(dir.resolve(ML1M_RATINGS))) {
            return load1m(dir, lenient);
        }
        throw new MalformedDataException(dir, 0, "not a MovieLens directory: expected " + ML100K_RATINGS
                + " (MovieLens-100K) or " + ML1M_RATINGS + " (MovieLens-1M)");
    }

    public static LoadResult load100k(Path dir, boolean lenient) {
        LineProblems problems = new LineProblems(lenient);
        List<String> genreNames = readGenres(requireFile(dir, ML100K_GENRES), problems);
        Map<Long, Dataset.Item> items = new LinkedHashMap<>();
        Path itemFile = requireFile(dir, ML100K_ITEMS);
        int expected = ML100K_FIXED_ITEM_FIELDS + genreNames.size();
        forEachLine(itemFile, problems, (line, text) -> {
            String[] f = PIPE.split(text, -1);
            requireFieldCount(f, expected, "id|title|release|video release|url|" + genreNames.size() + " genre flags");
            long id = parseNonNegative(f[0], "item id");
            List<String> genres = new ArrayList<>();
            for (int g = 0; g < genreNames.size(); g++) {
                String flag = f[ML100K_FIXED_ITEM_FIELDS + g].trim();
                if (flag.equals("1")) {
                    genres.add(genreNames.get(g));
                } else if (!flag.equals("0")) {
                    throw new IllegalArgumentException("genre flag " + genreNames.get(g) + " must be 0 or 1, got '" + flag + "'");
                }
            }
            putItem(items, new Dataset.Item(id, f[1].trim(), genres));
        });
        List<Dataset.Event> events = new ArrayList<>(100_000);
        Path ratings = requireFile(dir, ML100K_RATINGS);
        forEachLine(ratings, problems, (line, text) -> {
            String[] f = text.split("\t", -1);
            requireFieldCount(f, 4, "user<TAB>item<TAB>rating<TAB>unix seconds");
            events.add(event(items, f[0], f[1], f[2], f[3]));
        });
        return finish("ml-100k", items, events, problems);
    }

    public static LoadResult load1m(Path dir, boolean lenient) {
        LineProblems problems = new LineProblems(lenient);
        Map<Long, Dataset.Item> items = new LinkedHashMap<>();
        forEachLine(requireFile(dir, ML1M_ITEMS), problems, (line, text) -> {
            String[] f = ML1M_SEPARATOR.split(text, -1);
            requireFieldCount(f, 3, "MovieID::Title::Genres");
            long id = parseNonNegative(f[0], "movie id");
            String genres = f[2].trim();
            putItem(items, new Dataset.Item(id, f[1].trim(),
                    genres.isEmpty() ? List.of() : List.of(PIPE.split(genres))));
        });
        List<Dataset.Event> events = new ArrayList<>(1_000_210);
        forEachLine(requireFile(dir, ML1M_RATINGS), problems, (line, text) -> {
            String[] f = ML1M_SEPARATOR.split(text, -1);
            requireFieldCount(f, 4, "UserID::MovieID::Rating::Timestamp");
            events.add(event(items, f[0], f[1], f[2], f[3]));
        });
        return finish("ml-1m", items, events, problems);
    }

    private static List<String> readGenres(Path file, LineProblems problems) {
        Map<Integer, String> byIndex = new LinkedHashMap<>();
        forEachLine(file, problems, (line, text) -> {
            String[] f = PIPE.split(text, -1);
            requireFieldCount(f, 2, "name|index");
            int index = (int) parseNonNegative(f[1], "genre index");
            if (byIndex.putIfAbsent(index, f[0].trim()) != null) {
                throw new IllegalArgumentException("genre index " + index + " appears twice");
            }
        });
        List<String> names = new ArrayList<>();
        for (int i = 0; i < byIndex.size(); i++) {
            String name = byIndex.get(i);
            if (name == null) {
                // A gap would shift every later flag onto the wrong genre: never recoverable.
                throw new MalformedDataException(file, 0, "genre indices must be 0.." + (byIndex.size() - 1)
                        + " without gaps; index " + i + " is missing");
            }
            names.add(name);
        }
        if (names.isEmpty()) {
            throw new MalformedDataException(file, 0, "no genres defined");
        }
        return names;
    }

    private static void putItem(Map<Long, Dataset.Item> items, Dataset.Item item) {
        if (items.putIfAbsent(item.itemId(), item) != null) {
            throw new IllegalArgumentException("item id " + item.itemId() + " appears twice");
        }
    }

    private static Dataset.Event event(Map<Long, Dataset.Item> items, String user, String item, String rating,
            String seconds) {
        long userId = parseNonNegative(user, "user id");
        long itemId = parseNonNegative(item, "item id");
        if (!items.containsKey(itemId)) {
            throw new IllegalArgumentException("item " + itemId + " is not in the catalogue");
        }
        Float r = parseRating(rating);
        long millis = Math.multiplyExact(parseNonNegative(seconds, "timestamp"), 1000L);
        return new Dataset.Event(userId, itemId, millis, r);
    }

    private static LoadResult finish(String name, Map<Long, Dataset.Item> items, List<Dataset.Event> events,
            LineProblems problems) {
        LoaderSupport.sortEvents(events);
        Dataset dataset = new Dataset(name, new ArrayList<>(items.values()), events);
        return new LoadResult(dataset, problems.report(name, List.of("timestamps in seconds")));
    }

    interface LineHandler {
        void accept(long line, String text);
    }

    /**
     * Reads a Latin-1 file line by line; blank lines are ignored (u.genre ends with some), any
     * {@link IllegalArgumentException} from the handler becomes a rejected line.
     */
    static void forEachLine(Path file, LineProblems problems, LineHandler handler) {
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1)) {
            long line = 0;
            for (String text = reader.readLine(); text != null; text = reader.readLine()) {
                line++;
                if (text.isBlank()) {
                    continue;
                }
                problems.lineRead();
                try {
                    handler.accept(line, text);
                } catch (IllegalArgumentException | ArithmeticException e) {
                    problems.reject(file, line, e.getMessage());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
