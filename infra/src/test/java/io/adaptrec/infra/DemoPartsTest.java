package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.testkit.Fixtures;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.SyntheticConfig;
import io.adaptrec.worker.data.SyntheticGenerator;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The demo's pure pieces: percentiles, sample-user choice, candidate sampling. */
class DemoPartsTest {

  @Test
  void percentilesUseNearestRank() {
    long[] sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assertThat(PipelineWatcher.percentile(sorted, 0.5)).isEqualTo(5);
    assertThat(PipelineWatcher.percentile(sorted, 0.95)).isEqualTo(10);
    assertThat(PipelineWatcher.percentile(sorted, 0.0)).isEqualTo(1);
    assertThat(PipelineWatcher.percentile(new long[0], 0.5)).isEqualTo(-1);
    assertThat(DemoReport.latencyLine("x", new long[0])).contains("no records");
    assertThat(DemoReport.latencyLine("x", sorted)).contains("p50 5 ms").contains("max 10 ms").contains("(10 records)");
  }

  @Test
  void sampleUserIsThePooledUserWithTheLongestHistory() {
    Map<Long, UserState> states = Map.of(
        1L, Fixtures.userState(1, List.of(10L, 11L), 1f, 0f),
        2L, Fixtures.userState(2, List.of(10L, 11L, 12L, 13L), 1f, 0f),
        3L, Fixtures.userState(3, List.of(10L, 11L, 12L, 13L, 14L), 1f, 0f));  // longest, but has no pool
    Map<Long, SimilarUserPool> pools = Map.of(
        1L, Fixtures.pool(1, 2L),
        2L, Fixtures.pool(2, 1L));
    PipelineWatcher.Snapshot s = new PipelineWatcher.Snapshot(3, states, 2, pools, new long[0], new long[0], 0, 0);
    assertThat(DemoReport.sampleUser(s)).contains(2L);
  }

  @Test
  void candidatesAreUnseenDistinctAndReproducible() {
    Dataset d = new SyntheticGenerator(SyntheticConfig.defaults().withSize(30, 60, 5, 20)).dataset();
    long user = 7;
    Set<Long> seen = d.interactions().stream().filter(e -> e.userId() == user).map(Dataset.Event::itemId)
        .collect(Collectors.toSet());
    long[] c = DemoModel.unseenCandidates(d, user, 42);
    assertThat(c).hasSize(DemoModel.CANDIDATES);
    assertThat(Arrays.stream(c).boxed().collect(Collectors.toSet())).hasSize(DemoModel.CANDIDATES).doesNotContainAnyElementsOf(seen);
    assertThat(DemoModel.unseenCandidates(d, user, 42)).isEqualTo(c);
    assertThat(DemoModel.unseenCandidates(d, user, 43)).isNotEqualTo(c);
  }
}
