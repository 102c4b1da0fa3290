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
 * the cache being rebuilt from a snapshot; pools kept per embedding version, users migrating
 * between versions, and state from before versions refused; excluded users
 * ({@code pool.exclude-members}) getting pools but never being in one (every emitted pool is
 * checked), through spares, re-queries, deletes and a restart under a changed exclusion set.
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
  /** Latest embedding version sent for each user still in the cell. */
  final java.util.Map<Long, String> sentVersions = new java.util.HashMap<>();
  /** Output records already checked by {@link #assertNoMixedPools}. */
  int checked;
  /** The exclusion set of the current harness: no emitted pool may hold one of these. */
  java.util.Set<Long> excluded = java.util.Set.of();

  static float[] unit(double degrees) {
    double r = Math.toRadians(degrees);
    return new float[] {(float) Math.cos(r), (float) Math.sin(r)};
  }

  static KeyedOneInputStreamOperatorTestHarness<Integer, CellEvent, PoolChange> newHarness(int poolSize, int capacity) throws Exception {
    return ProcessFunctionTestHarnesses.forKeyedProcessFunction(new CellPoolFunction(poolSize, capacity), CellEvent::cell, Types.INT);
  }

  /** Replaces the harness by one (N = 2, K = 3) whose function excludes {@code users} from every pool. */
  void excluding(Long... users) throws Exception {
    harness.close();
    excluded = java.util.Set.of(users);
    harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new CellPoolFunction(2, 3, excluded), CellEvent::cell, Types.INT);
    checked = 0;
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
    upsert(user, v, home, "v1");
  }

  void upsert(long user, float[] v, int home, String version) throws Exception {
    seq++;
    harness.processElement(new StreamRecord<>(new CellEvent(CELL, CellEvent.UPSERT, user, v, version, home, seq, T0 + seq)));
    sentVersions.put(user, version);
    assertNoMixedPools(harness.extractOutputValues());
  }

  void remove(long user, byte kind) throws Exception {
    seq++;
    harness.processElement(new StreamRecord<>(new CellEvent(CELL, kind, user, null, "", CELL, seq, T0 + seq)));
    sentVersions.remove(user);
    assertNoMixedPools(harness.extractOutputValues());
  }

  /**
   * Checks the pool changes the last event produced (those after the ones already checked): each
   * is labelled with its owner's latest version, and every member's latest version is that one.
   */
  void assertNoMixedPools(List<PoolChange> out) {
    for (int i = checked; i < out.size(); i++) {
      PoolChange c = out.get(i);
      if (c.tombstone()) {
        continue;
      }
      assertThat(c.embeddingVersion()).as("version of %d's pool", c.userId()).isEqualTo(sentVersions.get(c.userId()));
      for (long m : c.neighbourIds()) {
        assertThat(excluded).as("member %d of %d's pool %s", m, c.userId(), java.util.Arrays.toString(c.neighbourIds())).doesNotContain(m);
        assertThat(sentVersions.get(m)).as("latest version of member %d of %d's pool (version %s)", m, c.userId(), c.embeddingVersion())
            .isEqualTo(c.embeddingVersion());
      }
    }
    checked = out.size();
  }

  List<PoolChange> drainOutput() {
    List<PoolChange> out = harness.extractOutputValues();
    harness.getOutput().clear();
    checked = 0;
    return out;
  }

  PoolChange last(List<PoolChange> changes, long user) {
    return changes.stream().filter(c -> c.userId() == user).reduce((a, b) -> b).orElseThrow();
  }

  /** A fresh harness around {@code function}, restored from {@code snapshot} (the old one must be closed). */
  void restart(OperatorSubtaskState snapshot, CellPoolFunction function) throws Exception {
    harness = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(function), CellEvent::cell, Types.INT);
    harness.initializeState(snapshot);
    harness.open();
    checked = 0;
  }

  CellPoolFunction function() {
    return (CellPoolFunction) ((AbstractUdfStreamOperator<?, ?>) harness.getOperator()).getUserFunction();
  }

  /** What the cell's cache holds for an owned user (its candidate list is not in state: it is rebuilt on restore). */
  CellIndex.Owned cached(long user) {
    CellIndex.Owned o = function().cachedOwned(CELL, user);
    assertThat(o).as("user %d owned in the cache", user).isNotNull();
    return o;
  }

  long[] candidateIds(long user) {
    Candidates c = cached(user).candidates;
    return c.topIds(c.size());
  }

  MapState<Long, Long> ownersState() throws Exception {
    harness.getOperator().setCurrentKey(CELL);
    return harness.getOperator().getKeyedStateBackend()
        .getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, CellPoolFunction.OWNERS);
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
    assertThat(candidateIds(1L)).containsExactly(4L, 2L, 3L);
    assertThat(replicaState().keys()).containsExactlyInAnyOrder(1L, 2L, 3L, 4L);
  }

  @Test
  void userLeavingAPoolIsReplacedFromTheSpareCandidate() throws Exception {
    upsert(1, A, CELL);
    upsert(2, A10, CELL);
    upsert(3, A20, CELL);
    upsert(4, A30, CELL);
    upsert(5, A90, CELL); // outside user 1's K = 3 candidates
    assertThat(candidateIds(1L)).containsExactly(2L, 3L, 4L);
    drainOutput();
    long refillsBefore = refills();

    upsert(2, A180, CELL); // 2 moves far away from 1

    List<PoolChange> out = drainOutput();
    assertThat(last(out, 1).neighbourIds()).containsExactly(3L, 4L);
    assertThat(candidateIds(1L)).containsExactly(3L, 4L);
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
    assertThat(candidateIds(1L)).containsExactly(3L, 4L);

    upsert(3, unit(-170), CELL); // second departure: the re-query finds user 5

    assertThat(last(drainOutput(), 1).neighbourIds()).containsExactly(4L, 5L);
    assertThat(candidateIds(1L)).containsExactly(4L, 5L, 3L);
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
    assertThat(ownersState().contains(2L)).isFalse();
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
    assertThat(ownersState().contains(2L)).isFalse();
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

    restart(snapshot, new CellPoolFunction(2, 3));
    upsert(4, A10, CELL);

    List<PoolChange> out = drainOutput();
    assertThat(last(out, 1).neighbourIds()).containsExactly(4L, 2L);
    assertThat(last(out, 4).neighbourIds()).containsExactly(1L, 2L);
    assertThat(candidateIds(3L)).containsExactly(2L, 4L, 1L);
  }

  @Test
  void listsAreRebuiltFromTheEmbeddingsAlone() throws Exception {
    upsert(1, A, CELL);
    upsert(2, A30, CELL);
    upsert(3, A90, CELL);
    upsert(4, A10, OTHER_CELL); // a replica only
    upsert(2, A20, CELL); // a moved member: lists edited in place, not rescanned
    java.util.Map<Long, long[]> before = new java.util.HashMap<>();
    for (long u : new long[] {1, 2, 3}) {
      before.put(u, candidateIds(u));
    }
    assertThat(ownedState().isEmpty()).as("no list is persisted").isTrue();
    assertThat(ownersState().get(2L)).isEqualTo(seq); // the owner's latest change number
    OperatorSubtaskState snapshot = harness.snapshot(1L, T0);
    harness.close();

    restart(snapshot, new CellPoolFunction(2, 3));
    remove(9, CellEvent.LEAVE); // touches the cell (rebuilds it) and changes nothing

    assertThat(drainOutput()).isEmpty();
    for (long u : new long[] {1, 2, 3}) {
      assertThat(candidateIds(u)).as("list of %d", u).containsExactly(before.get(u));
    }
    assertThat(cached(2).seq).isEqualTo(seq - 1);
    assertThat(function().cachedOwned(CELL, 4L)).isNull();
    assertThat(refills()).as("the rebuild is not counted as re-queries").isZero();
  }

  @Test
  void listsPersistedByAnEarlierBuildAreMigratedToOwners() throws Exception {
    // state as a build that persisted candidate lists left it: a replica and version per user, a list per owner
    replicaState().put(1L, A);
    replicaState().put(2L, A30);
    replicaState().put(3L, A90);
    for (long u = 1; u <= 3; u++) {
      replicaVersionState().put(u, "v1");
    }
    ownedState().put(1L, new CellPoolFunction.OwnedState(5, "v1", new long[] {3}, new float[] {0f})); // stale list
    ownedState().put(3L, new CellPoolFunction.OwnedState(6, "v1", new long[] {2, 1}, new float[] {0.5f, 0f}));
    sentVersions.putAll(java.util.Map.of(1L, "v1", 2L, "v1", 3L, "v1"));

    remove(9, CellEvent.LEAVE);

    assertThat(ownedState().isEmpty()).isTrue();
    assertThat(ownersState().get(1L)).isEqualTo(5L);
    assertThat(ownersState().get(3L)).isEqualTo(6L);
    assertThat(ownersState().contains(2L)).isFalse();
    assertThat(candidateIds(1)).containsExactly(2L, 3L); // rebuilt from the embeddings, not the stale list
    assertThat(candidateIds(3)).containsExactly(2L, 1L);
    assertThat(cached(1).seq).isEqualTo(5L);
  }

  @Test
  void poolsOnlyHoldUsersOfTheOwnersEmbeddingVersion() throws Exception {
    upsert(1, A, CELL, "v1");
    upsert(2, A10, CELL, "v2");
    upsert(3, A20, CELL, "v1");
    upsert(4, A30, CELL, "v2");
    upsert(5, A90, CELL, "v1");

    List<PoolChange> out = drainOutput();
    assertThat(last(out, 1).neighbourIds()).containsExactly(3L, 5L);
    assertThat(last(out, 1).embeddingVersion()).isEqualTo("v1");
    assertThat(last(out, 2).neighbourIds()).containsExactly(4L);
    assertThat(last(out, 2).embeddingVersion()).isEqualTo("v2");
    assertThat(last(out, 4).neighbourIds()).containsExactly(2L);
    assertThat(cached(2L).version).isEqualTo("v2");
    assertThat(candidateIds(3L)).containsExactly(1L, 5L);
    assertThat(replicaVersionState().get(4L)).isEqualTo("v2");
    assertThat(replicaVersionState().get(5L)).isEqualTo("v1");
  }

  @Test
  void userMigratingToANewVersionLeavesOldPoolsAndIsPooledAmongTheNewVersion() throws Exception {
    upsert(1, A, CELL, "v1");
    upsert(2, A10, CELL, "v1");
    upsert(3, A20, CELL, "v1");
    upsert(4, A30, CELL, "v1");
    upsert(5, A90, CELL, "v1"); // outside user 1's K = 3 candidates
    upsert(6, A, CELL, "v2");
    upsert(7, A90, CELL, "v2");
    assertThat(candidateIds(1L)).containsExactly(2L, 3L, 4L);
    drainOutput();
    long refillsBefore = refills();

    upsert(2, A10, CELL, "v2"); // same direction, new embedding space

    List<PoolChange> out = drainOutput();
    // v1: 2 left user 1's pool like a delete; the spare candidate 4 replaced it without a re-query
    assertThat(last(out, 1).neighbourIds()).containsExactly(3L, 4L);
    assertThat(last(out, 1).embeddingVersion()).isEqualTo("v1");
    assertThat(last(out, 3).neighbourIds()).containsExactly(4L, 1L);
    // v2: 2's own pool is recomputed among v2 users, and 2 enters their pools
    assertThat(last(out, 2).neighbourIds()).containsExactly(6L, 7L);
    assertThat(last(out, 2).embeddingVersion()).isEqualTo("v2");
    assertThat(last(out, 2).seq()).isEqualTo(seq);
    assertThat(last(out, 6).neighbourIds()).containsExactly(2L, 7L);
    assertThat(last(out, 7).neighbourIds()).containsExactly(2L, 6L);
    assertThat(refills() - refillsBefore).as("only 2's own rescan").isEqualTo(1);
    assertThat(cached(2L).version).isEqualTo("v2");
    assertThat(candidateIds(2L)).containsExactly(6L, 7L);
    assertThat(candidateIds(1L)).containsExactly(3L, 4L);
    assertThat(replicaVersionState().get(2L)).isEqualTo("v2");

    upsert(3, A20, CELL, "v2"); // second departure from 1's pool: a re-query among v1 finds 5
    out = drainOutput();
    assertThat(last(out, 1).neighbourIds()).containsExactly(4L, 5L);
    assertThat(last(out, 3).neighbourIds()).containsExactly(2L, 6L);
  }

  @Test
  void lastUsersOfAnOldVersionArePooledAmongThemselvesUntilTheyMigrate() throws Exception {
    upsert(1, A, CELL, "v1");
    upsert(2, A10, CELL, "v1");
    upsert(3, A20, CELL, "v1");
    upsert(1, A, CELL, "v2");
    upsert(2, A10, CELL, "v2");

    List<PoolChange> out = drainOutput();
    assertThat(last(out, 3).neighbourIds()).isEmpty(); // alone in v1
    assertThat(last(out, 3).embeddingVersion()).isEqualTo("v1");
    assertThat(last(out, 2).neighbourIds()).containsExactly(1L);

    upsert(3, A20, CELL, "v2");
    out = drainOutput();
    assertThat(last(out, 3).neighbourIds()).containsExactly(2L, 1L);
    assertThat(last(out, 3).embeddingVersion()).isEqualTo("v2");
    assertThat(replicaVersionState().values()).containsOnly("v2");
  }

  @Test
  void cacheIsRebuiltPerVersionFromRestoredState() throws Exception {
    upsert(1, A, CELL, "v1");
    upsert(2, A30, CELL, "v2");
    upsert(3, A90, CELL, "v1");
    upsert(5, A20, CELL, "v2");
    OperatorSubtaskState snapshot = harness.snapshot(1L, T0);
    harness.close();

    restart(snapshot, new CellPoolFunction(2, 3));
    upsert(4, A10, CELL, "v1");
    upsert(5, A30, CELL, "v1"); // migrates "back": versions are labels, any move is handled the same way

    List<PoolChange> out = drainOutput();
    assertThat(last(out, 1).neighbourIds()).containsExactly(4L, 5L);
    assertThat(last(out, 4).neighbourIds()).containsExactly(1L, 5L);
    assertThat(last(out, 2).neighbourIds()).isEmpty(); // alone in v2 now
    assertThat(last(out, 2).embeddingVersion()).isEqualTo("v2");
    assertThat(candidateIds(3L)).containsExactly(5L, 4L, 1L);
  }

  @Test
  void stateWithoutReplicaVersionsIsRefusedNamingTheFix() throws Exception {
    replicaState().put(1L, A); // as written before replicas had versions
    ownedState().put(1L, new CellPoolFunction.OwnedState(1, "v1", new long[0], new float[0]));

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> upsert(2, A10, CELL, "v1"))
        .hasMessageContaining("user 1 has no embedding version")
        .hasMessageContaining("start the job without this savepoint");
  }

  @Test
  void excludedUserGetsAPoolButIsInNone() throws Exception {
    excluding(2L);
    upsert(1, A, CELL);
    upsert(2, A10, CELL); // excluded: near everyone, in nobody's pool
    upsert(3, unit(25), CELL);
    upsert(4, A30, CELL);
    upsert(5, A90, CELL);

    List<PoolChange> out = drainOutput();
    assertThat(last(out, 1).neighbourIds()).containsExactly(3L, 4L);
    assertThat(last(out, 2).neighbourIds()).containsExactly(1L, 3L); // its own pool among the others
    assertThat(last(out, 3).neighbourIds()).containsExactly(4L, 1L);
    assertThat(candidateIds(1L)).containsExactly(3L, 4L, 5L);
    assertThat(replicaState().keys()).contains(2L);

    long rescansBefore = refills();
    upsert(2, A30, CELL); // an excluded user's update changes its own pool only
    out = drainOutput();
    assertThat(out).extracting(PoolChange::userId).containsExactly(2L);
    assertThat(last(out, 2).neighbourIds()).containsExactly(4L, 3L);
    assertThat(refills() - rescansBefore).as("only 2's own rescan").isEqualTo(1);

    remove(2, CellEvent.DELETE); // and its delete only tombstones it
    out = drainOutput();
    assertThat(out).hasSize(1);
    assertThat(out.get(0).tombstone()).isTrue();
    assertThat(ownersState().contains(2L)).isFalse();
    assertThat(candidateIds(1L)).containsExactly(3L, 4L, 5L);
  }

  @Test
  void sparesAndRequeriesSkipExcludedUsers() throws Exception {
    excluding(2L, 6L);
    upsert(1, A, CELL);
    upsert(2, A10, CELL); // excluded
    upsert(3, A20, CELL);
    upsert(4, A30, CELL);
    upsert(5, unit(40), CELL);
    upsert(6, unit(50), CELL); // excluded
    upsert(7, A90, CELL);
    assertThat(candidateIds(1L)).containsExactly(3L, 4L, 5L);
    drainOutput();

    upsert(3, A180, CELL); // first departure: the spare 5 steps in
    assertThat(last(drainOutput(), 1).neighbourIds()).containsExactly(4L, 5L);
    assertThat(candidateIds(1L)).containsExactly(4L, 5L);

    upsert(4, unit(-170), CELL); // second: the re-query passes over 6 and 2 and finds 7
    assertThat(last(drainOutput(), 1).neighbourIds()).containsExactly(5L, 7L);
    assertThat(candidateIds(1L)).containsExactly(5L, 7L, 4L);
    assertThat(candidateIds(6L)).containsExactly(5L, 7L, 1L);
  }

  @Test
  void listsThatKnowEveryMemberStayCompleteBesideExcludedUsers() throws Exception {
    excluding(2L, 5L);
    upsert(1, A, CELL);
    upsert(2, A10, CELL); // excluded
    upsert(3, unit(80), CELL);
    upsert(5, A20, CELL); // excluded
    List<PoolChange> out = drainOutput();
    assertThat(last(out, 1).neighbourIds()).containsExactly(3L);
    assertThat(last(out, 3).neighbourIds()).containsExactly(1L);
    assertThat(last(out, 5).neighbourIds()).containsExactly(1L, 3L);

    upsert(4, A180, CELL); // ranks after everyone, but 1 and 3 knew every member: it must enter
    out = drainOutput();
    assertThat(last(out, 1).neighbourIds()).containsExactly(3L, 4L);
    assertThat(last(out, 3).neighbourIds()).containsExactly(1L, 4L);
    assertThat(last(out, 4).neighbourIds()).containsExactly(3L, 1L);

    remove(1, CellEvent.DELETE);
    remove(3, CellEvent.DELETE);
    remove(4, CellEvent.DELETE);
    upsert(5, A20, CELL);
    assertThat(last(drainOutput(), 5).neighbourIds()).as("only excluded users left").isEmpty();
  }

  @Test
  void restartUnderAChangedExclusionSetRepairsTheCell() throws Exception {
    upsert(1, A, CELL);
    upsert(2, unit(5), CELL);
    upsert(3, A20, CELL);
    upsert(4, A90, CELL);
    assertThat(candidateIds(1L)).containsExactly(2L, 3L, 4L);
    OperatorSubtaskState noExclusion = harness.snapshot(1L, T0);
    harness.close();

    // restart excluding 2: on the first touch every owned list is rescanned, changed pools emitted
    excluded = java.util.Set.of(2L);
    restart(noExclusion, new CellPoolFunction(2, 3, excluded));
    upsert(4, A90, OTHER_CELL); // any event for the cell: 4 stays a replica here, no longer owned

    List<PoolChange> out = drainOutput();
    assertThat(last(out, 1).neighbourIds()).containsExactly(3L, 4L);
    assertThat(last(out, 3).neighbourIds()).containsExactly(1L, 4L);
    // the cell emits every owned pool once (the emitter downstream forwards only changed ones): 2's is as before
    assertThat(last(out, 2).neighbourIds()).containsExactly(1L, 3L);
    assertThat(candidateIds(1L)).containsExactly(3L, 4L);
    assertThat(ownersState().contains(4L)).isFalse();
    assertThat(exclusionState().value()).isEqualTo(CellPoolFunction.fingerprint(excluded));
    OperatorSubtaskState excluding2 = harness.snapshot(2L, T0);
    harness.close();

    // back to no exclusion: 2 returns to the pools it belongs in
    excluded = java.util.Set.of();
    restart(excluding2, new CellPoolFunction(2, 3));
    upsert(5, A180, OTHER_CELL);
    out = drainOutput();
    assertThat(last(out, 1).neighbourIds()).containsExactly(2L, 3L);
    assertThat(last(out, 3).neighbourIds()).containsExactly(2L, 1L);
    assertThat(candidateIds(1L)).containsExactly(2L, 3L, 4L);

    // a plain restart under the same set rescans nothing
    OperatorSubtaskState same = harness.snapshot(3L, T0);
    harness.close();
    restart(same, new CellPoolFunction(2, 3));
    remove(5, CellEvent.LEAVE);
    assertThat(drainOutput()).isEmpty();
    assertThat(refills()).isZero();
  }

  org.apache.flink.api.common.state.ValueState<Long> exclusionState() throws Exception {
    harness.getOperator().setCurrentKey(CELL);
    return harness.getOperator().getKeyedStateBackend()
        .getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, CellPoolFunction.EXCLUSION);
  }

  MapState<Long, String> replicaVersionState() throws Exception {
    harness.getOperator().setCurrentKey(CELL);
    return harness.getOperator().getKeyedStateBackend()
        .getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, CellPoolFunction.REPLICA_VERSIONS);
  }

  private long refills() {
    return function().rescans();
  }
}
