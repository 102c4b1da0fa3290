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

class MovieLensLoaderTest {

    @TempDir
    Path dir;

    private static final String GENRES = "unknown|0\nAction|1\nComedy|2\n\n";
    private static final String ITEMS = """
            1|Toy Story (1995)|01-Jan-1995||http://x|0|0|1
            2|Café Society (1995)|01-Jan-1995||http://y|0|1|1
            """;

    private void write(String name, String content) throws IOException {
        // MovieLens ships Latin-1: "é" must arrive as the single byte 0xE9.
        Files.writeString(dir.resolve(name), content, StandardCharsets.ISO_8859_1);
    }

    @Test
    void loadsTheSharedMovieLens100k() {
        LoadResult result = Datasets.load(DatasetKind.MOVIELENS, TestData.ml100k(), LoadOptions.defaults());
        Dataset d = result.dataset();
        assertThat(d.name()).isEqualTo("ml-100k");
        assertThat(d.items()).hasSize(1682);
        assertThat(d.interactions()).hasSize(100_000);
        assertThat(d.interactions().stream().mapToLong(Dataset.Event::userId).distinct().count()).isEqualTo(943);
        assertThat(result.report().skippedLines()).isZero();
        Dataset.Item toyStory = d.items().get(0);
        assertThat(toyStory.title()).isEqualTo("Toy Story (1995)");
        assertThat(toyStory.genres()).containsExactly("Animation", "Children's", "Comedy");
        // u.data line 1: "196 242 3 881250949" (seconds) becomes millis.
        assertThat(d.interactions()).contains(new Dataset.Event(196, 242, 881_250_949_000L, 3f));
        assertThat(d.interactions()).isSortedAccordingTo(LoaderSupport.EVENT_ORDER);
    }

    @Test
    void loads100kFilesWithLatin1TitlesAndGenreFlags() throws IOException {
        write("u.genre", GENRES);
        write("u.item", ITEMS);
        write("u.data", "7\t2\t4\t900000001\n7\t1\t5\t900000000\n");
        Dataset d = Datasets.load(DatasetKind.MOVIELENS, dir, LoadOptions.defaults()).dataset();
        assertThat(d.name()).isEqualTo("ml-100k");
        assertThat(d.items()).containsExactly(
                new Dataset.Item(1, "Toy Story (1995)", List.of("Comedy")),
                new Dataset.Item(2, "Café Society (1995)", List.of("Action", "Comedy")));
        assertThat(d.interactions()).containsExactly(
                new Dataset.Event(7, 1, 900_000_000_000L, 5f),
                new Dataset.Event(7, 2, 900_000_001_000L, 4f));
    }

    @Test
    void loads1mFilesAndDetectsTheVariant() throws IOException {
        write("movies.dat", "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Jumanji (1995)::Adventure\n");
        write("ratings.dat", "1::2::3::978300760\n1::1::5::978300700\n2::1::4::978300760\n");
        Dataset d = Datasets.load("movielens", dir, LoadOptions.defaults()).dataset();
        assertThat(d.name()).isEqualTo("ml-1m");
        assertThat(d.items().get(0).genres()).containsExactly("Animation", "Children's", "Comedy");
        assertThat(d.interactions()).containsExactly(
                new Dataset.Event(1, 1, 978_300_700_000L, 5f),
                new Dataset.Event(1, 2, 978_300_760_000L, 3f),
                new Dataset.Event(2, 1, 978_300_760_000L, 4f));
    }

    @Test
    void strictModeNamesFileAndLine() throws IOException {
        write("u.genre", GENRES);
        write("u.item", ITEMS);
        write("u.data", "7\t2\t4\t900000001\n\n7\t1\t5\n");
        assertThatThrownBy(() -> Datasets.load(DatasetKind.MOVIELENS, dir, LoadOptions.defaults()))
                .isInstanceOfSatisfying(MalformedDataException.class, e -> {
                    assertThat(e.file()).isEqualTo(dir.resolve("u.data"));
                    assertThat(e.line()).isEqualTo(3);
                })
                .hasMessage(dir.resolve("u.data") + ":3: expected 4 fields (user<TAB>item<TAB>rating<TAB>unix seconds), "
                        + "found 3");
    }

    @Test
    void badGenreFlagIsALineProblem() throws IOException {
        write("u.genre", GENRES);
        write("u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|yes\n");
        write("u.data", "");
        assertThatThrownBy(() -> Datasets.load(DatasetKind.MOVIELENS, dir, LoadOptions.defaults()))
                .hasMessage(dir.resolve("u.item") + ":1: genre flag Comedy must be 0 or 1, got 'yes'");
    }

    @Test
    void lenientModeSkipsAndCounts() throws IOException {
        write("movies.dat", "1::Toy Story (1995)::Comedy\nbroken line\n");
        write("ratings.dat", "1::1::5::978300700\n1::9::5::978300700\n1::1::five::978300701\n2::1::4::978300760\n");
        LoadResult r = Datasets.load(DatasetKind.MOVIELENS, dir, LoadOptions.defaults().withLenient(true));
        assertThat(r.dataset().items()).hasSize(1);
        assertThat(r.dataset().interactions()).hasSize(2);
        assertThat(r.report().skippedLines()).isEqualTo(3);
        assertThat(r.report().linesRead()).isEqualTo(6);
        assertThat(r.report().problems()).containsExactly(
                dir.resolve("movies.dat") + ":2: expected 3 fields (MovieID::Title::Genres), found 1",
                dir.resolve("ratings.dat") + ":2: item 9 is not in the catalogue",
                dir.resolve("ratings.dat") + ":3: rating is not a number: 'five'");
    }

    @Test
    void aDirectoryWithoutMovieLensFilesIsExplained() {
        assertThatThrownBy(() -> Datasets.load(DatasetKind.MOVIELENS, dir, LoadOptions.defaults()))
                .isInstanceOf(MalformedDataException.class)
                .hasMessageContaining("not a MovieLens directory: expected u.data (MovieLens-100K) or ratings.dat");
        assertThatThrownBy(() -> Datasets.load(DatasetKind.MOVIELENS, dir.resolve("nope"), LoadOptions.defaults()))
                .hasMessageContaining("data directory does not exist");
        assertThatThrownBy(() -> DatasetKind.parse("netflix"))
                .hasMessage("unknown dataset kind 'netflix'; expected one of movielens, generic, synthetic");
    }
}
