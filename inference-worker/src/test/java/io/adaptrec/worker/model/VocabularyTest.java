package io.adaptrec.worker.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VocabularyTest {

    @TempDir
    Path dir;

    @Test
    void itemsAreContiguousAfterSpecialsAndTitleWordsAreTokens() {
        Vocabulary v = Fixtures.vocabulary();
        assertThat(v.itemStart()).isEqualTo(Vocabulary.SPECIALS.size());
        assertThat(v.itemCount()).isEqualTo(Fixtures.ITEMS);
        assertThat(v.itemId(v.itemToken(17))).isEqualTo(17);
        assertThat(v.token(v.itemToken(17))).isEqualTo("item_17");
        int[] words = v.itemWords(16);   // item 17: "Movie Number 17 (1997)", genre Sci-Fi
        assertThat(Arrays.stream(words).mapToObj(v::token).toList())
                .containsExactly("movie", "number", "17", "1997", "sci", "fi");
        assertThat(v.id("zebra")).isEqualTo(Vocabulary.UNK);
        assertThat(v.itemToken(999)).isEqualTo(Vocabulary.UNK);
    }

    @Test
    void savedTokenizerJsonLoadsBackWithIdenticalIds() throws IOException {
        Vocabulary v = Fixtures.vocabulary();
        v.save(dir);
        Vocabulary back = Vocabulary.load(dir);
        assertThat(back.size()).isEqualTo(v.size());
        for (int i = 0; i < v.size(); i++) {
            assertThat(back.token(i)).isEqualTo(v.token(i));
        }
        for (int k = 0; k < v.itemCount(); k++) {
            assertThat(back.itemWords(k)).containsExactly(v.itemWords(k));
        }
    }

    @Test
    void huggingFaceTokenizerEncodesARenderedPromptToTheSameIds() throws IOException {
        Vocabulary v = Fixtures.vocabulary();
        v.save(dir);
        Prompt p = PromptTemplate.resource(PromptTemplate.RECOMMENDATION).render(v,
                List.of(new Demonstration(3, new long[] {4, 5, 6}, 7)), new long[] {10, 11}, new long[] {12, 40});
        String text = String.join(" ", Arrays.stream(p.tokens()).mapToObj(v::token).toList());
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.builder()
                .optTokenizerPath(dir.resolve("tokenizer.json")).optAddSpecialTokens(false).build()) {
            Encoding enc = tok.encode(text);
            assertThat(enc.getIds()).containsExactly(Arrays.stream(p.tokens()).asLongStream().toArray());
        }
    }

    @Test
    void loadRejectsATokenizerWithoutSpecialsFirst() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"a\":0}}}");
        assertThatThrownBy(() -> Vocabulary.load(dir)).hasMessageContaining("id 0 must be [PAD]");
    }
}
