package io.adaptrec.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenericCsvLoaderTest {

    private static final long T0_SECONDS = 1_700_000_000L;
    private static final long T0_MILLIS = T0_SECONDS * 1000;

    @TempDir
    Path dir;

    private static final String ITEMS = """
            item_id,title,genres
            1,"Crouching Tiger, Hidden Dragon",Action|Drama
            2,"The ""Quoted"" One",Comedy
            3,Amélie,
            """;

    private void write(String items, String interactions) throws IOException {
        Files.writeString(dir.resolve("items.csv"), items, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("interactions.csv"), interactions, StandardCharsets.UTF_8);
    }

    private LoadResult load(LoadOptions options) {
        return Datasets.load(DatasetKind.GENERIC, dir, options);
    }

    @Test
    void loadsQuotedFieldsUtf8GenresAndDetectsSeconds() throws IOException {
        write(ITEMS, """
                user_id,item_id,timestamp,rating
                10,2,%d,4.5
                10,1,%d,
                11,3,%d,3
                """.formatted(T0_SECONDS + 60, T0_SECONDS, T0_SECONDS));
        LoadResult r = load(LoadOptions.defaults());
        Dataset d = r.dataset();
        assertThat(d.items()).containsExactly(
                new Dataset.Item(1, "Crouching Tiger, Hidden Dragon", List.of("Action", "Drama")),
                new Dataset.Item(2, "The \"Quoted\" One", List.of("Comedy")),
                new Dataset.Item(3, "Amélie", List.of()));
        assertThat(d.interactions()).containsExactly(
                new Dataset.Event(10, 1, T0_MILLIS, null),
                new Dataset.Event(11, 3, T0_MILLIS, 3f),
                new Dataset.Event(10, 2, T0_MILLIS + 60_000, 4.5f));
        assertThat(r.report().notes()).anyMatch(n -> n.contains("seconds") && n.contains("line 2"));
        assertThat(r.report().linesRead()).isEqualTo(6);
    }

    @Test
    void detectsMillisIsoInstantsAndColumnsInAnyOrderWithoutRating() throws IOException {
        write(ITEMS, """
                TIMESTAMP,item_id,user_id
                %d,1,5
                2023-11-14T22:13:21Z,2,5
                """.formatted(T0_MILLIS));
        Dataset d = load(LoadOptions.defaults()).dataset();
        assertThat(d.interactions()).containsExactly(
                new Dataset.Event(5, 1, T0_MILLIS, null),
                new Dataset.Event(5, 2, T0_MILLIS + 1_000, null));
    }

    @Test
    void explicitUnitOverridesDetection() throws IOException {
        write(ITEMS, "user_id,item_id,timestamp\n1,1,5000\n");
        assertThat(load(LoadOptions.defaults().withTimestampUnit(TimestampUnit.MILLIS)).dataset().interactions())
                .containsExactly(new Dataset.Event(1, 1, 5000, null));
        assertThat(load(LoadOptions.defaults()).dataset().interactions())
                .containsExactly(new Dataset.Event(1, 1, 5_000_000, null));
    }

    @Test
    void strictModeFailsWithFileLineAndReason() throws IOException {
        write(ITEMS, """
                user_id,item_id,timestamp
                1,1,%d
                1,"two",%d
                """.formatted(T0_SECONDS, T0_SECONDS));
        assertThatThrownBy(() -> load(LoadOptions.defaults()))
                .isInstanceOfSatisfying(MalformedDataException.class, e -> {
                    assertThat(e.file()).isEqualTo(dir.resolve("interactions.csv"));
                    assertThat(e.line()).isEqualTo(3);
                    assertThat(e.reason()).contains("item_id is not an integer: 'two'");
                })
                .hasMessageStartingWith(dir.resolve("interactions.csv") + ":3: ");
    }

    @Test
    void lineNumbersStayRightAfterAMultiLineQuotedField() throws IOException {
        write("""
                item_id,title
                1,"A title
                over two lines"
                x,Broken
                """, "user_id,item_id,timestamp\n");
        assertThatThrownBy(() -> load(LoadOptions.defaults()))
                .isInstanceOfSatisfying(MalformedDataException.class, e -> assertThat(e.line()).isEqualTo(4));
    }

    @Test
    void lenientModeCountsReportsAndSkips() throws IOException {
        write(ITEMS, """
                user_id,item_id,timestamp
                1,1,%d
                1,99,%d
                1,2
                oops,2,%d
                2,3,%d
                2,2,%d
                """.formatted(T0_SECONDS, T0_SECONDS, T0_SECONDS, T0_SECONDS, T0_MILLIS));
        LoadResult r = load(LoadOptions.defaults().withLenient(true));
        assertThat(r.dataset().interactions()).extracting(Dataset.Event::itemId).containsExactly(1L, 3L);
        assertThat(r.report().skippedLines()).isEqualTo(4);
        assertThat(r.report().problems()).containsExactly(
                dir.resolve("interactions.csv") + ":3: item_id 99 is not in items.csv",
                dir.resolve("interactions.csv") + ":4: expected 3 fields [user_id, item_id, timestamp], found 2",
                dir.resolve("interactions.csv") + ":5: user_id is not an integer: 'oops'",
                dir.resolve("interactions.csv") + ":7: timestamp " + T0_MILLIS + " looks like MILLIS but this file "
                        + "uses SECONDS (decided at line 2); mixed units are not supported, pass the timestamp unit "
                        + "explicitly");
        assertThat(r.report().summary()).contains("4 skipped");
    }

    @Test
    void wholeFileProblemsFailEvenInLenientMode() throws IOException {
        write("id,name\n1,x\n", "user_id,item_id,timestamp\n");
        assertThatThrownBy(() -> load(LoadOptions.defaults().withLenient(true)))
                .isInstanceOf(MalformedDataException.class)
                .hasMessageContaining("items.csv:1: header lacks column 'item_id'");

        write(ITEMS, "user_id,item_id,timestamp\n1,\"1,5\n");
        assertThatThrownBy(() -> load(LoadOptions.defaults().withLenient(true)))
                .isInstanceOf(MalformedDataException.class)
                .hasMessageContaining("interactions.csv: unreadable CSV");

        Files.write(dir.resolve("items.csv"), new byte[] {'i', 't', 'e', 'm', '_', 'i', 'd', ',', 't', 'i', 't', 'l',
            'e', '\n', '1', ',', (byte) 0xE9, '\n'});
        assertThatThrownBy(() -> load(LoadOptions.defaults()))
                .isInstanceOf(MalformedDataException.class)
                .hasMessageContaining("items.csv: not valid UTF-8");

        Files.delete(dir.resolve("interactions.csv"));
        assertThatThrownBy(() -> load(LoadOptions.defaults()))
                .isInstanceOf(MalformedDataException.class)
                .hasMessageContaining("interactions.csv: file not found");
    }

    @Test
    void duplicateItemIdsAreRejected() throws IOException {
        write("item_id,title\n1,A\n1,B\n", "user_id,item_id,timestamp\n");
        assertThatThrownBy(() -> load(LoadOptions.defaults()))
                .hasMessage(dir.resolve("items.csv") + ":3: item_id 1 appears twice");
    }
}
