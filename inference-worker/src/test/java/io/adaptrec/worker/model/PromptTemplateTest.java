package io.adaptrec.worker.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class PromptTemplateTest {

    private final Vocabulary vocab = Fixtures.vocabulary();

    private String text(Prompt p) {
        return String.join(" ", Arrays.stream(p.tokens()).mapToObj(vocab::token).toList());
    }

    @Test
    void rendersDemonstrationsThenHistoryThenCandidatesAndEndsAtTheAnswerSlot() {
        PromptTemplate t = PromptTemplate.resource(PromptTemplate.RECOMMENDATION);
        Prompt p = t.render(vocab, List.of(new Demonstration(9, new long[] {1, 2}, 3),
                new Demonstration(8, new long[] {4}, 5)), new long[] {6, 7}, new long[] {8, 20, 30});
        assertThat(text(p)).isEqualTo("[BOS] similar user 1 watched item_1 item_2 then chose item_3 [SEP] "
                + "similar user 2 watched item_4 then chose item_5 [SEP] "
                + "candidates item_8 item_20 item_30 [SEP] the target user watched item_6 item_7");
        // the answer slot is the latest history item: its next token is the recommendation
        assertThat(p.answerPosition()).isEqualTo(p.tokens().length - 1);
        assertThat(vocab.token(p.tokens()[p.answerPosition()])).isEqualTo("item_7");
        // LM targets: every demonstration and history item, never a candidate
        assertThat(Arrays.stream(p.lmTargets()).mapToObj(vocab::token).toList())
                .containsExactly("item_1", "item_2", "item_3", "item_4", "item_5", "item_6", "item_7");
        for (int i = 0; i < p.lmPositions().length; i++) {
            assertThat(p.tokens()[p.lmPositions()[i] + 1]).isEqualTo(p.lmTargets()[i]);
        }
    }

    @Test
    void noDemonstrationsLeavesOnlyTheTargetUser() {
        Prompt p = PromptTemplate.resource(PromptTemplate.RECOMMENDATION)
                .render(vocab, List.of(), new long[] {6}, new long[] {8});
        assertThat(text(p)).isEqualTo("[BOS] candidates item_8 [SEP] the target user watched item_6");
    }

    @Test
    void templatesAreDataAndAreValidated() {
        PromptTemplate custom = PromptTemplate.parse("custom", """
                # a comment
                demonstration: user {k} saw {watched} next {choice}
                prompt: {demonstrations} me {history} options {candidates} pick
                """);
        Prompt p = custom.render(vocab, List.of(new Demonstration(1, new long[] {1}, 2)), new long[] {3}, new long[] {4});
        // words outside the vocabulary ("saw", "next", ...) map to [UNK] rather than failing
        assertThat(text(p)).isEqualTo("user 1 [UNK] item_1 [UNK] item_2 [UNK] item_3 [UNK] item_4 [UNK]");
        assertThatThrownBy(() -> PromptTemplate.parse("bad", "demonstration: {watched} {choice}\nprompt: {history}"))
                .hasMessageContaining("bad: 'prompt:' must contain {demonstrations}");
        assertThatThrownBy(() -> PromptTemplate.parse("bad", "oops"))
                .hasMessageContaining("bad line 1");
    }
}
