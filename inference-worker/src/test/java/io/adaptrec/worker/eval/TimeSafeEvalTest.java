package io.adaptrec.worker.eval;

import static io.adaptrec.worker.eval.Fixtures.interaction;
import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.model.Vocabulary;
import io.adaptrec.worker.selection.Neighbourhood;
import io.adaptrec.worker.selection.OfflineNeighbourhood;
import io.adaptrec.worker.selection.SimilarUsers;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Time-safe evaluation: a query's moment cuts what pools, demonstrations and popularity may use. */
class TimeSafeEvalTest {

  @Test
  void queriesCarryTheirTargetsTimeUnlessTimeSafetyIsOff() {
    List<Dataset.Event> events = new ArrayList<>();
    for (long u = 1; u <= 20; u++) {
      for (int k = 1; k <= 6; k++) {
        events.add(interaction(u, 10 * u + k, 1000 * u + k));
      }
    }
    Split split = Split.create(Fixtures.dataset(400, events), Protocol.LOO);
    assertThat(split.timeSafe()).isTrue();
    for (EvalCase c : split.testCases(1)) {
      assertThat(c.query().asOfMillis()).isEqualTo(1000 * c.query().userId() + 6);   // the target's time
    }
    assertThat(split.withTimeSafety(false).testCases(1)).allSatisfy(c ->
        assertThat(c.query().asOfMillis()).isEqualTo(Long.MAX_VALUE));
    assertThat(split.withTimeSafety(false).testCases(1)).extracting(c -> c.query().candidates().length)
        .containsExactlyElementsOf(split.testCases(1).stream().map(c -> c.query().candidates().length).toList());
  }

  @Test
  void popularityCountsOnlyWhatHappenedBeforeTheQuery() {
    Map<Long, UserSequence> seqs = new LinkedHashMap<>();
    seqs.put(1L, new UserSequence(1, new long[] {7, 7, 8, 8, 8}, new long[] {1, 2, 10, 11, 12}));
    seqs.put(2L, new UserSequence(2, new long[] {7, 8, 8}, new long[] {3, 13, 14}));
    PopularRecommender p = PopularRecommender.fit(seqs);
    float[][] s = p.score(List.of(new Query(9, new long[0], new long[] {7, 8}, 10),   // before any 8
        new Query(9, new long[0], new long[] {7, 8}, 13),                             // three 8s so far
        new Query(9, new long[0], new long[] {7, 8})));                               // no cut: all
    assertThat(s[0]).containsExactly(3f, 0f);
    assertThat(s[1]).containsExactly(3f, 3f);
    assertThat(s[2]).containsExactly(3f, 5f);
  }

  @Test
  void poolsAndDemonstrationsSeeMembersOnlyAsTheyWereBeforeTheQuery() {
    Vocabulary vocab = Vocabulary.build(Fixtures.catalogue(4), Set.of());
    float[] emb = new float[4 * 2];
    emb[0] = 1;      // item 1 -> (1, 0)
    emb[3] = 1;      // item 2 -> (0, 1)
    emb[4] = 1;      // item 3 -> (1, 0)
    emb[7] = 1;      // item 4 -> (0, 1)
    Map<Long, long[]> seqs = new LinkedHashMap<>();
    Map<Long, long[]> times = new LinkedHashMap<>();
    seqs.put(1L, new long[] {1, 3});
    times.put(1L, new long[] {10, 20});
    seqs.put(2L, new long[] {2, 1, 3});
    times.put(2L, new long[] {100, 200, 300});
    OfflineNeighbourhood n = new OfflineNeighbourhood(new SimilarUsers(seqs, vocab, emb, 20), seqs, times, "e");

    // at 50, user 2 has no past yet: only user 1, whole (both items before 50)
    Neighbourhood.Pool early = n.pool(9, new long[] {1}, 5, 50);
    assertThat(early.members()).extracting(Neighbourhood.Member::userId).containsExactly(1L);
    assertThat(early.members().get(0).history()).containsExactly(1, 3);
    // at 250, user 2 is (item 2, item 1): item 3 at 300 is still the future
    Neighbourhood.Pool later = n.pool(9, new long[] {1}, 5, 250);
    assertThat(later.members()).extracting(Neighbourhood.Member::userId).containsExactly(1L, 2L);
    assertThat(later.members().get(1).history()).containsExactly(2, 1);
    assertThat(later.members().get(1).similarity()).isCloseTo((float) Math.sqrt(0.5), org.assertj.core.data.Offset.offset(1e-5f));
    // no cut: whole sequences, as before time-safety
    Neighbourhood.Pool all = n.pool(9, new long[] {1}, 5, Long.MAX_VALUE);
    assertThat(all.members()).extracting(Neighbourhood.Member::userId).containsExactlyInAnyOrder(1L, 2L);
    assertThat(all.members().stream().filter(m -> m.userId() == 2).findFirst().orElseThrow().history()).containsExactly(2, 1, 3);
    // never the target itself
    assertThat(n.pool(1, new long[] {1}, 5, 250).members()).extracting(Neighbourhood.Member::userId).containsExactly(2L);
  }
}
