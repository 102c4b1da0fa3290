package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractUdfStreamOperator;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Top-N maintenance in one cell, through Flink's keyed operator harness: users entering and
 * leaving pools, replacement from the spare candidates, re-query when they run out, deletes, and
 * the cache being rebuilt from a snapshot.
 */
class CellPoolFunctionTest {
  static final int CELL = 7;
  static final int OTHER_CELL = 8;
  static final long T0 = 1_700_000_000_000L;

  // Unit vectors in the plane: similarity to A is cos(angle).
  static final float[] A = unit(0);
  static final float[] A10 = unit(10);
  static final float[] A20 = unit(20);
  static final float[] A30 = unit(30);
  static final float[] A90 = unit(90);
  static final float[] A180 = unit(180);

  KeyedOneInputStreamOperatorTestHarness<Integer, CellEvent, PoolChange> harness;
  long seq;

  static float[] unit(double degrees) {
    double r = Math.toRadians(degrees);
    return new float[] {(float) Math.cos(r), (float) Math.sin(r)};
  }

  static KeyedOneInputStreamOperatorTestHarness<Integer, CellEvent, PoolChange> newHarness(int poolSize, int capacity) throws Exception {
    return ProcessFunctionTestHarnesses.forKeyedProcessFunction(new CellPoolFunction(poolSize, capacity), CellEvent::cell, Types.INT);
  }

  @BeforeEach
  void open() throws Exception {
    // N = 2 neighbours, K = 3: one spare candidate
    harness = newHarness(2, 3);
  }

  @AfterEach
  void close() throws Exception {
    harness.close();
  }

  void upsert(long user, float[] v, int home) throws Exception {
    seq++;
    harness.processElement(new StreamRecord<>(new CellEvent(CELL, CellEvent.UPSERT, user, v, "v1", home, seq, T0 + seq)));
  }

  void remove(long user, byte kind) throws Exception {
    seq++;
    harness.processElement(new StreamRecord<>(new CellEvent(CELL, kind, user, null, "", CELL, seq, T0 + seq)));
  }

  List<PoolChange> drainOutput() {
    List<PoolChange> out = harness.extractOutputValues();
    harness.getOutput().clear();
    return out;
  }

  PoolChange last(List<PoolChange> changes, long user) {
    return changes.stream().filter(c -> c.userId() == user).reduce((a, b) -> b).orElseThrow();
  }

  MapState<Long, CellPoolFunction.OwnedState> ownedState() throws Exception {
    harness.getOperator().setCurrentKey(CELL);
    return harness.getOperator().getKeyedStateBackend()
        .getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, CellPoolFunction.OWNED);
  }

  MapState<Long, float[]> replicaState() throws Exception {
    harness.getOperator().setCurrentKey(CELL);
    return harness.getOperator().getKeyedStateBackend()
        .getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, CellPoolFunction.REPLICAS);
  }

  @Test
  void userEnteringAPoolIsInsertedInRankOrder() throws Exception {
    upsert(1, A, CELL);
    upsert(2, A30, CELL);
    upsert(3, A90, CELL);
    drainOutput();

    upsert(4, A10, CELL);

    List<PoolChange> out = drainOutput();
    assertThat(last(out, 1).neighbourIds()).containsExactly(4L, 2L);
    assertThat(last(out, 4).neighbourIds()).containsExactly(1L, 2L);
    assertThat(last(out, 4).producedAt()).isEqualTo(T0 + seq);
    // user 3's top-2 becomes {2, 4}: user 4 (80 degrees away) now beats user 1 (90 degrees)
    assertThat(last(out, 3).neighbourIds()).containsExactly(2L, 4L);
    assertThat(ownedState().get(1L).ids()).containsExactly(4L, 2L, 3L);
    assertThat(replicaState().keys()).containsExactlyInAnyOrder(1L, 2L, 3L, 4L);
  }

  @Test
  void userLeavingAPoolIsReplacedFromTheSpareCandidate() throws Exception {
    upsert(1, A, CELL);
    upsert(2, A10, CELL);
    upsert(3, A20, CELL);
    upsert(4, A30, CELL);
    upsert(5, A90, CELL); // outside user 1's K = 3 candidates
    assertThat(ownedState().get(1L).ids()).containsExactly(2L, 3L, 4L);
    drainOutput();
    long refillsBefore = refills();

    upsert(2, A180, CELL); // 2 moves far away from 1

    List<PoolChange> out = drainOutput();
    assertThat(last(out, 1).neighbourIds()).containsExactly(3L, 4L);
    assertThat(ownedState().get(1L).ids()).containsExactly(3L, 4L);
    // the spare made the replacement possible without re-scanning for user 1; only 2's own rescan ran
    assertThat(refills() - refillsBefore).isEqualTo(1);
  }

  @Test
  void poolRequeriesWhenFewerThanNCandidatesRemain() throws Exception {
    upsert(1, A, CELL);
    upsert(2, A10, CELL);
    upsert(3, A20, CELL);
    upsert(4, A30, CELL);
    upsert(5, A90, CELL); // outside user 1's K = 3 candidates
    upsert(2, A180, CELL);
    drainOutput();
    assertThat(ownedState().get(1L).ids()).containsExactly(3L, 4L);

    upsert(3, unit(-170), CELL); // second departure: the re-query finds user 5

    assertThat(last(drainOutput(), 1).neighbourIds()).containsExactly(4L, 5L);
    assertThat(ownedState().get(1L).ids()).containsExactly(4L, 5L, 3L);
  }

  @Test
  void deletedUserDisappearsFromEveryPoolAndGetsATombstone() throws Exception {
    upsert(1, A, CELL);
    upsert(2, A10, CELL);
    upsert(3, A20, CELL);
    drainOutput();

    remove(2, CellEvent.DELETE);

    List<PoolChange> out = drainOutput();
    PoolChange tombstone = last(out, 2);
    assertThat(tombstone.tombstone()).isTrue();
    assertThat(tombstone.seq()).isEqualTo(seq);
    assertThat(last(out, 1).neighbourIds()).containsExactly(3L);
    assertThat(last(out, 3).neighbourIds()).containsExactly(1L);
    assertThat(ownedState().contains(2L)).isFalse();
    assertThat(replicaState().contains(2L)).isFalse();
  }

  @Test
  void userMovingToAnotherHomeStaysACandidateButIsNoLongerOwned() throws Exception {
    upsert(1, A, CELL);
    upsert(2, A10, CELL);
    drainOutput();

    upsert(2, A20, OTHER_CELL);

    List<PoolChange> out = drainOutput();
    assertThat(out).noneMatch(c -> c.userId() == 2);
    assertThat(last(out, 1).neighbourIds()).containsExactly(2L);
    assertThat(ownedState().contains(2L)).isFalse();
    assertThat(replicaState().contains(2L)).isTrue();

    remove(2, CellEvent.LEAVE);
    assertThat(drainOutput()).noneMatch(PoolChange::tombstone);
  }

  @Test
  void cacheIsRebuiltFromRestoredState() throws Exception {
    upsert(1, A, CELL);
    upsert(2, A30, CELL);
    upsert(3, A90, CELL);
    OperatorSubtaskState snapshot = harness.snapshot(1L, T0);
    harness.close();

    harness = new KeyedOneInputStreamOperatorTestHarness<>(
        new KeyedProcessOperator<>(new CellPoolFunction(2, 3)), CellEvent::cell, Types.INT);
    harness.initializeState(snapshot);
    harness.open();
    upsert(4, A10, CELL);

    List<PoolChange> out = drainOutput();
    assertThat(last(out, 1).neighbourIds()).containsExactly(4L, 2L);
    assertThat(last(out, 4).neighbourIds()).containsExactly(1L, 2L);
    assertThat(ownedState().get(3L).ids()).containsExactly(2L, 4L, 1L);
  }

  private long refills() {
    return ((CellPoolFunction) ((AbstractUdfStreamOperator<?, ?>) harness.getOperator()).getUserFunction()).rescans();
  }
}
