package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Eligibility, change detection and fan-out to cells, with an IVF partitioner of four lists. */
class UserRouterTest {
  static final long U = 9;
  static final long T0 = 1_700_000_000_000L;
  // four lists on the axes; with 2 probes a user is held by its two nearest lists
  static final float[][] CENTROIDS = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};

  IvfPartitioner partitioner = new IvfPartitioner(CENTROIDS, 2);
  KeyedOneInputStreamOperatorTestHarness<Long, UserUpdate, CellEvent> harness;

  @BeforeEach
  void open() throws Exception {
    harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new UserRouter(partitioner, 3, 2), UserUpdate::userId, Types.LONG);
  }

  @AfterEach
  void close() throws Exception {
    harness.close();
  }

  List<CellEvent> send(UserUpdate u) throws Exception {
    harness.processElement(new StreamRecord<>(u));
    List<CellEvent> out = harness.extractOutputValues();
    harness.getOutput().clear();
    return out;
  }

  @Test
  void fansAnUpdateOutToTheCoverageOfItsHome() throws Exception {
    List<CellEvent> out = send(UserUpdate.upsert(U, new float[] {3, 0.1f}, "v1", 5, T0));

    assertThat(out).allMatch(e -> e.kind() == CellEvent.UPSERT && e.home() == 0 && e.seq() == 1);
    assertThat(out).extracting(CellEvent::cell).containsExactly(0, 1); // (3, 0.1) is nearest to list 0, then list 1
    assertThat(Vectors.dot(out.get(0).vector(), out.get(0).vector())).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-6f));
    assertThat(harness.numKeyedStateEntries()).isEqualTo(1);
  }

  @Test
  void unchangedEmbeddingIsNotRoutedAgain() throws Exception {
    send(UserUpdate.upsert(U, new float[] {1, 0}, "v1", 5, T0));
    assertThat(send(UserUpdate.upsert(U, new float[] {2, 0}, "v1", 6, T0 + 1))).isEmpty(); // same direction
  }

  @Test
  void newEmbeddingVersionIsRoutedEvenWithAnIdenticalVector() throws Exception {
    send(UserUpdate.upsert(U, new float[] {1, 0.1f}, "v1", 5, T0));

    List<CellEvent> out = send(UserUpdate.upsert(U, new float[] {1, 0.1f}, "v2", 5, T0 + 1));

    assertThat(out).isNotEmpty().allMatch(e -> e.kind() == CellEvent.UPSERT && e.seq() == 2 && e.embeddingVersion().equals("v2"));
    assertThat(send(UserUpdate.upsert(U, new float[] {1, 0.1f}, "v2", 6, T0 + 2))).isEmpty();
  }

  @Test
  void moveToAnotherHomeSendsLeaveToCellsThatNoLongerCoverIt() throws Exception {
    send(UserUpdate.upsert(U, new float[] {1, 0.1f}, "v1", 5, T0)); // held by lists 0 and 1

    List<CellEvent> out = send(UserUpdate.upsert(U, new float[] {-0.1f, 1}, "v1", 5, T0 + 1)); // lists 1 and 2

    assertThat(out.stream().filter(e -> e.kind() == CellEvent.UPSERT).map(CellEvent::cell)).containsExactly(1, 2);
    assertThat(out.stream().filter(e -> e.kind() == CellEvent.LEAVE).map(CellEvent::cell)).containsExactly(0);
    assertThat(out).allMatch(e -> e.seq() == 2 && e.home() == 1);
  }

  @Test
  void shortHistoryIsNotPooledAndDropsAPooledUser() throws Exception {
    assertThat(send(UserUpdate.upsert(U, new float[] {1, 0}, "v1", 2, T0))).isEmpty();
    send(UserUpdate.upsert(U, new float[] {1, 0}, "v1", 3, T0 + 1));

    List<CellEvent> out = send(UserUpdate.upsert(U, new float[] {1, 0}, "v1", 2, T0 + 2));

    assertThat(out).isNotEmpty().allMatch(e -> e.kind() == CellEvent.DELETE && e.home() == 0);
  }

  @Test
  void deleteReachesEveryCellThatHeldTheUserAndOnlyOnce() throws Exception {
    send(UserUpdate.upsert(U, new float[] {0.1f, 1}, "v1", 4, T0));

    List<CellEvent> out = send(UserUpdate.delete(U, T0 + 1));

    assertThat(out).extracting(CellEvent::cell).containsExactly(1, 0);
    assertThat(out).allMatch(e -> e.kind() == CellEvent.DELETE && e.home() == 1);
    assertThat(send(UserUpdate.delete(U, T0 + 2))).isEmpty();
  }

  @Test
  void invalidEmbeddingGoesToTheRejectedSideOutput() throws Exception {
    assertThat(send(UserUpdate.upsert(U, new float[] {0, 0}, "v1", 5, T0))).isEmpty();
    assertThat(send(UserUpdate.upsert(U, new float[] {1, 0, 0}, "v1", 5, T0))).isEmpty();

    assertThat(harness.getSideOutput(UserRouter.REJECTED)).extracting(r -> r.getValue().reason())
        .containsExactly("embedding is all zeros or holds NaN/infinity", "embedding has 3 dimensions, embedding.dim is 2");
  }

}
