package io.adaptrec.worker.data;

import static io.adaptrec.worker.data.LoaderSupport.parseNonNegative;
import static io.adaptrec.worker.data.LoaderSupport.parseRating;
import static io.adaptrec.worker.data.LoaderSupport.requireFile;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

/**
 * The generic format: {@code items.csv} ({@code item_id,title[,genres]}, genres {@code |}-separated)
 * and {@code interactions.csv} ({@code user_id,item_id,timestamp[,rating]}), UTF-8, a header row,
 * RFC 4180 quoting. Columns are found by header name (any case, any order); extra columns are
 * ignored.
 *
 * <p>{@code timestamp} is epoch seconds or millis (see {@link TimestampUnit}) or an ISO-8601
 * instant such as {@code 2024-05-01T12:00:00Z}.
 */
public final class GenericCsvLoader {

    public static final String ITEMS = "items.csv";
    public static final String INTERACTIONS = "interactions.csv";

    private static final CSVFormat FORMAT = CSVFormat.DEFAULT.builder()
            .setHeader()
            .setSkipHeaderRecord(true)
            .setIgnoreHeaderCase(true)
            .setIgnoreSurroundingSpaces(true)
            .setIgnoreEmptyLines(true)
            .get();

    private GenericCsvLoader() {}

    public static boolean recognises(Path dir) {
        return Files.isRegularFile(dir.resolve(INTERACTIONS));
    }

    public static LoadResult load(Path dir, boolean lenient, TimestampUnit unit) {
        String name = dir.toAbsolutePath().normalize().getFileName() == null
                ? "generic" : dir.toAbsolutePath().normalize().getFileName().toString();
        LineProblems problems = new LineProblems(lenient);
        Map<Long, Dataset.Item> items = new LinkedHashMap<>();
        // Both files are checked before either is parsed, so a missing one is reported first.
        Path itemFile = requireFile(dir, ITEMS);
        Path interactionFile = requireFile(dir, INTERACTIONS);
        forEachRecord(itemFile, List.of("item_id", "title"), problems, (r, header, line) -> {
            long id = parseNonNegative(r.get("item_id"), "item_id");
            String title = r.get("title");
            if (title.isBlank()) {
                throw new IllegalArgumentException("title is empty for item " + id);
            }
            List<String> genres = header.containsKey("genres") ? splitGenres(r.get("genres")) : List.of();
            if (items.putIfAbsent(id, new Dataset.Item(id, title, genres)) != null) {
                throw new IllegalArgumentException("item_id " + id + " appears twice");
            }
        });

        List<Dataset.Event> events = new ArrayList<>();
        TimestampUnit[] resolved = {unit};
        long[] unitDecidedAt = {0};
        forEachRecord(interactionFile, List.of("user_id", "item_id", "timestamp"), problems, (r, header, line) -> {
            long userId = parseNonNegative(r.get("user_id"), "user_id");
            long itemId = parseNonNegative(r.get("item_id"), "item_id");
            if (!items.containsKey(itemId)) {
                throw new IllegalArgumentException("item_id " + itemId + " is not in " + ITEMS);
            }
            String rawTime = r.get("timestamp").trim();
            long millis;
            if (looksNumeric(rawTime)) {
                long raw = parseNonNegative(rawTime, "timestamp");
                TimestampUnit implied = TimestampUnit.detect(raw);
                if (resolved[0] == TimestampUnit.AUTO) {
                    resolved[0] = implied;
                    unitDecidedAt[0] = line;
                } else if (unit == TimestampUnit.AUTO && implied != resolved[0]) {
                    throw new IllegalArgumentException("timestamp " + raw + " looks like " + implied
                            + " but this file uses " + resolved[0] + " (decided at line " + unitDecidedAt[0]
                            + "); mixed units are not supported, pass the timestamp unit explicitly");
                }
                millis = resolved[0].toMillis(raw);
            } else {
                try {
                    millis = Instant.parse(rawTime).toEpochMilli();
                } catch (DateTimeParseException e) {
                    throw new IllegalArgumentException("timestamp '" + rawTime
                            + "' is neither epoch seconds/millis nor an ISO-8601 instant");
                }
            }
            Float rating = header.containsKey("rating") ? parseRating(r.get("rating")) : null;
            events.add(new Dataset.Event(userId, itemId, millis, rating));
        });
        LoaderSupport.sortEvents(events);
        List<String> notes = new ArrayList<>();
        notes.add(resolved[0] == TimestampUnit.AUTO ? "no numeric timestamps"
                : "timestamps in " + resolved[0].name().toLowerCase(Locale.ROOT)
                        + (unit == TimestampUnit.AUTO ? " (detected at line " + unitDecidedAt[0] + ")" : ""));
        Dataset dataset = new Dataset(name, new ArrayList<>(items.values()), events);
        return new LoadResult(dataset, problems.report(name, notes));
    }

    private static boolean looksNumeric(String text) {
        // A leading minus still counts as numeric so that negative times get the ">= 0" message.
        String digits = text.startsWith("-") ? text.substring(1) : text;
        return !digits.isEmpty() && digits.chars().allMatch(c -> c >= '0' && c <= '9');
    }

    private static List<String> splitGenres(String raw) {
        return Arrays.stream(raw.split("\\|")).map(String::trim).filter(g -> !g.isEmpty()).toList();
    }

    interface RecordHandler {
        void accept(CSVRecord record, Map<String, Integer> header, long line);
    }

    private static void forEachRecord(Path file, List<String> requiredColumns, LineProblems problems,
            RecordHandler handler) {
        // A strict decoder: a file in the wrong encoding fails loudly instead of turning into U+FFFD.
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (Reader reader = new InputStreamReader(Files.newInputStream(file), decoder);
                CSVParser parser = CSVParser.builder().setReader(reader).setFormat(FORMAT).get()) {
            Map<String, Integer> header = new LinkedHashMap<>();
            Map<String, Integer> parsed = parser.getHeaderMap();
            (parsed == null ? Map.<String, Integer>of() : parsed).forEach((k, v) -> header.put(k.trim().toLowerCase(Locale.ROOT), v));
            for (String column : requiredColumns) {
                if (!header.containsKey(column)) {
                    throw new MalformedDataException(file, 1, "header lacks column '" + column + "' (found "
                            + parser.getHeaderNames() + ", required " + requiredColumns + ")");
                }
            }
            long previousEnd = 1;
            for (CSVRecord record : parser) {
                long line = previousEnd + 1;
                previousEnd = parser.getCurrentLineNumber();
                problems.lineRead();
                if (!record.isConsistent()) {
                    problems.reject(file, line, "expected " + header.size() + " fields " + parser.getHeaderNames()
                            + ", found " + record.size());
                    continue;
                }
                try {
                    handler.accept(record, header, line);
                } catch (IllegalArgumentException | ArithmeticException e) {
                    problems.reject(file, line, e.getMessage());
                }
            }
        } catch (UncheckedIOException | IOException e) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            if (root instanceof CharacterCodingException) {
                throw new MalformedDataException(file, 0, "not valid UTF-8 (" + root + ")", e);
            }
            // Unterminated quotes and the like: the parser cannot resynchronise, so even lenient mode stops.
            throw new MalformedDataException(file, 0, "unreadable CSV: " + root.getMessage(), e);
        }
    }
}
