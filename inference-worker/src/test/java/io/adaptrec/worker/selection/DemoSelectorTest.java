package io.adaptrec.worker.selection;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.model.AdapterStore;
import io.adaptrec.worker.model.Demonstration;
import io.adaptrec.worker.model.LanguageModel;
import io.adaptrec.worker.model.PromptTemplate;
import io.adaptrec.worker.model.RecLMConfig;
import io.adaptrec.worker.model.RecLMSystem;
import io.adaptrec.worker.model.RecLMTrainer;
import io.adaptrec.worker.model.TrainConfig;
import io.adaptrec.worker.model.Vocabulary;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DemoSelectorTest {

    private static List<Dataset.Item> catalogue() {
        List<Dataset.Item> out = new ArrayList<>();
        for (int i = 1; i <= 40; i++) {
            out.add(new Dataset.Item(i, "Film " + i, List.of(i % 2 == 0 ? "Drama" : "Comedy")));
        }
        return out;
    }

    @Test
    void windowCentresOnTheLatestSharedItemAndShowsWhatCameNext() {
        long[] seq = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        Demonstration d = DemoSelector.window(99, seq, new long[] {30, 4, 31}, 4);
        assertThat(d.watched()).containsExactly(2, 3, 4, 5);   // shared item 4 and what followed it
        assertThat(d.choice()).isEqualTo(6);
        Demonstration none = DemoSelector.window(99, seq, new long[] {30}, 4);
        assertThat(none.watched()).containsExactly(6, 7, 8, 9);   // nothing shared: latest window
        assertThat(none.choice()).isEqualTo(10);
        Demonstration atEnd = DemoSelector.window(99, seq, new long[] {10}, 4);
        assertThat(atEnd.choice()).isEqualTo(10);
        assertThat(atEnd.watched()).containsExactly(6, 7, 8, 9);
    }

    @Test
    void poolIsTheMostSimilarOtherUsersByCosine() {
        Vocabulary v = Vocabulary.build(catalogue(), List.of());
        int d = 2;
        float[] emb = new float[v.itemCount() * d];
        for (int k = 0; k < v.itemCount(); k++) {   // items 1..20 point one way, 21..40 the other
            emb[k * d + (k < 20 ? 0 : 1)] = 1f;
        }
        Map<Long, long[]> seqs = new LinkedHashMap<>();
        seqs.put(1L, new long[] {1, 2, 3});
        seqs.put(2L, new long[] {21, 22, 23});
        seqs.put(3L, new long[] {4, 5, 25});
        SimilarUsers index = new SimilarUsers(seqs, v, emb, 20);
        List<SimilarUsers.Neighbour> pool = index.pool(new long[] {6, 7}, 1L, 10);
        assertThat(pool).extracting(SimilarUsers.Neighbour::userId).containsExactly(3L, 2L);   // never user 1 itself
        assertThat(pool.get(0).similarity()).isGreaterThan(pool.get(1).similarity());
    }

    @Test
    void adaptiveSelectionFollowsTheAdapterWhileOtherStrategiesDoNot() {
        // Two taste groups; users walk their group's items in order.
        Map<Long, long[]> seqs = new LinkedHashMap<>();
        for (long u = 1; u <= 30; u++) {
            long[] s = new long[10];
            int start = (int) (u % 2 == 0 ? 1 + u % 10 : 21 + u % 10);
            for (int j = 0; j < s.length; j++) {
                s[j] = start + j;
            }
            seqs.put(u, s);
        }
        Vocabulary v = Vocabulary.build(catalogue(), RecLMSystem.templateWords());
        RecLMConfig mc = new RecLMConfig(16, 2, 1, 160, 0f, true, 4, 8f, false);
        TrainConfig tc = new TrainConfig(11, 1, 10, 0, 1, 2, 16, 3e-3f, 5e-2f, 2, 5, 9, 1f, 0.3f, 0);
        try (LanguageModel lm = LanguageModel.create(mc, v, 11)) {
            DemoSelector sel = new DemoSelector(lm, PromptTemplate.resource(PromptTemplate.SELECTION),
                    new DemoSelector.Config(8, 4, 9, 2));
            OfflineNeighbourhood hood = new OfflineNeighbourhood(new SimilarUsers(seqs, v, lm.itemEmbeddings(), 10),
                    seqs, "test");
            List<DemoSelector.Target> targets = new ArrayList<>();
            for (long u = 1; u <= 12; u++) {
                long[] h = java.util.Arrays.copyOf(seqs.get(u), 6);
                targets.add(new DemoSelector.Target(100 + u, h, hood.pool(100 + u, h, 8, Long.MAX_VALUE)));
            }
            List<long[]> before = sel.rankIds(targets, Strategy.ADAPTIVE);
            List<long[]> simBefore = sel.rankIds(targets, Strategy.SIMILARITY);
            List<long[]> staticBefore = sel.rankIds(targets, Strategy.STATIC);
            new RecLMTrainer(tc, s -> { }).trainPrompts(lm, seqs, PromptTemplate.resource(PromptTemplate.RECOMMENDATION),
                    hood, sel, Strategy.ADAPTIVE, true, 1);
            List<long[]> after = sel.rankIds(targets, Strategy.ADAPTIVE);
            int changed = 0;
            for (int i = 0; i < targets.size(); i++) {
                assertThat(after.get(i)).containsExactlyInAnyOrder(before.get(i));   // same pool, new order
                if (!java.util.Arrays.equals(after.get(i), before.get(i))) {
                    changed++;
                }
                assertThat(sel.rankIds(targets, Strategy.SIMILARITY).get(i)).containsExactly(simBefore.get(i));
                assertThat(sel.rankIds(targets, Strategy.STATIC).get(i)).containsExactly(staticBefore.get(i));
            }
            assertThat(changed).as("targets whose adaptive ranking moved with the adapter").isGreaterThan(0);
            AdapterStore.reset(lm);   // the identity adapter restores the base model's judgement
            List<long[]> reset = sel.rankIds(targets, Strategy.ADAPTIVE);
            for (int i = 0; i < targets.size(); i++) {
                assertThat(reset.get(i)).containsExactly(before.get(i));
            }
            assertThat(sel.select(targets, Strategy.NONE, 5)).allMatch(List::isEmpty);
            assertThat(sel.select(targets, Strategy.ADAPTIVE, 3)).allMatch(l -> l.size() == 3);
        }
    }
}
