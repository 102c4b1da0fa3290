package io.adaptrec.infra.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.infra.chaos.ChaosOracle.Entry;
import io.adaptrec.infra.chaos.ChaosOracle.FinalState;
import io.adaptrec.infra.chaos.ChaosOracle.Sent;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChaosOracleTest {

  @Test
  void theWindowKeepsTheLastLDistinctEventsAndDropsLateOnes() {
    long day = 86_400_000L;
    List<Sent> sent = List.of(
        new Sent(1, 10, 5 * day), new Sent(1, 11, 6 * day), new Sent(1, 11, 6 * day),   // a duplicate counts once
        new Sent(1, 12, 4 * day),                                                        // 2 days behind: within grace
        new Sent(1, 13, 6 * day - 3 * day),                                              // 3 days behind: late
        new Sent(1, 14, 7 * day), new Sent(2, 20, day));
    Map<Long, List<Entry>> h = ChaosOracle.expectedHistories(sent, 3, day * 5 / 2);
    assertThat(h.get(1L)).containsExactly(new Entry(10, 5 * day), new Entry(11, 6 * day), new Entry(14, 7 * day));
    assertThat(h.get(2L)).containsExactly(new Entry(20, day));
    assertThat(ChaosOracle.expectedHistories(sent, 10, day * 5 / 2).get(1L)).hasSize(4).startsWith(new Entry(12, 4 * day));
  }

  @Test
  void historyDifferencesAreCountedByKind() {
    Map<Long, List<Entry>> expected = Map.of(1L, List.of(new Entry(1, 1), new Entry(2, 2)), 2L, List.of(new Entry(3, 3)));
    assertThat(ChaosOracle.compareHistories(expected, Map.of(1L, List.of(new Entry(1, 1), new Entry(2, 2)),
        2L, List.of(new Entry(3, 3)))).equal()).isTrue();
    ChaosOracle.HistoryDiff d = ChaosOracle.compareHistories(expected,
        Map.of(1L, List.of(new Entry(1, 1), new Entry(1, 1), new Entry(9, 9))));
    assertThat(d.usersMissing()).isEqualTo(1);
    assertThat(d.entriesLost()).isEqualTo(2);        // user 1's (2,2) and user 2's (3,3)
    assertThat(d.entriesDoubled()).isEqualTo(1);
    assertThat(d.entriesUnexpected()).isEqualTo(1);
    assertThat(d.equal()).isFalse();
  }

  @Test
  void poolsAreTheMostSimilarUsersOfTheSameVersionTiesByUserId() {
    List<FinalState> states = List.of(
        new FinalState(1, 5, new float[] {1, 0}, "v"),
        new FinalState(2, 5, new float[] {2, 0}, "v"),        // same direction as 1
        new FinalState(3, 5, new float[] {1, 1}, "v"),
        new FinalState(4, 5, new float[] {3, 0}, "v"),        // ties with 2 for user 1: lower id first
        new FinalState(5, 2, new float[] {1, 0}, "v"),        // too short a history: neither target nor member
        new FinalState(6, 5, new float[] {0, 0}, "v"),        // no direction: not pooled
        new FinalState(7, 5, new float[] {1, 0}, "other"));   // another embedding space: its own pool only
    Map<Long, List<Long>> pools = ChaosOracle.expectedPools(states, 2, 3);
    assertThat(pools.get(1L)).containsExactly(2L, 4L);
    assertThat(pools.get(3L)).containsExactly(1L, 2L);
    assertThat(pools.get(7L)).isEmpty();
    assertThat(pools).doesNotContainKeys(5L, 6L);
    assertThat(ChaosOracle.comparePools(pools, Map.of(1L, List.of(2L, 4L), 2L, List.of(1L, 4L), 3L, List.of(1L, 2L),
        4L, List.of(1L, 2L)))).isEmpty();
    assertThat(ChaosOracle.comparePools(pools, Map.of(1L, List.of(4L, 2L), 5L, List.of(1L))))
        .anyMatch(s -> s.startsWith("user 1:")).anyMatch(s -> s.startsWith("user 5:")).anyMatch(s -> s.startsWith("user 2:"));
  }
}
