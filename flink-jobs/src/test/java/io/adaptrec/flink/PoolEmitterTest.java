package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

/** What reaches the user-pools topic: changed pools only, in seq order, versioned, optionally debounced. */
class PoolEmitterTest {
  static final long U = 42;
  static final long T0 = 1_700_000_000_000L;

  static PoolChange change(long seq, long[] ids, float[] sims) {
    return new PoolChange(U, seq, "v1", ids, sims, false, T0 + seq);
  }

  static KeyedOneInputStreamOperatorTestHarness<Long, PoolChange, PoolUpdate> harness(long debounceMs) throws Exception {
    var h = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new PoolEmitter(1e-4f, debounceMs), PoolChange::userId, Types.LONG);
    h.setProcessingTime(T0);
    return h;
  }

  @Test
  void emitsOnlyChangedPoolsWithGapFreeVersions() throws Exception {
    try (var h = harness(0)) {
      h.processElement(new StreamRecord<>(change(1, new long[] {1, 2}, new float[] {0.9f, 0.8f})));
      h.processElement(new StreamRecord<>(change(1, new long[] {1, 2}, new float[] {0.9f, 0.80001f}))); // within epsilon
      h.processElement(new StreamRecord<>(change(1, new long[] {2, 1}, new float[] {0.95f, 0.9f})));

      List<PoolUpdate> out = h.extractOutputValues();
      assertThat(out).extracting(PoolUpdate::version).containsExactly(1L, 2L);
      assertThat(out.get(1).neighbourIds()).containsExactly(2L, 1L);
      assertThat(out.get(1).embeddingVersion()).isEqualTo("v1");
      assertThat(out.get(1).updatedAt()).isEqualTo(T0);
      assertThat(out.get(1).sourceProducedAt()).isEqualTo(T0 + 1);
    }
  }

  @Test
  void membersModeEmitsOnlyWhenTheSetOfMembersChanges() throws Exception {
    var h = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new PoolEmitter(1e-4f, 0, true), PoolChange::userId, Types.LONG);
    h.setProcessingTime(T0);
    try (h) {
      h.processElement(new StreamRecord<>(change(1, new long[] {1, 2}, new float[] {0.9f, 0.8f})));
      h.processElement(new StreamRecord<>(change(2, new long[] {2, 1}, new float[] {0.95f, 0.9f}))); // reordered: same set
      h.processElement(new StreamRecord<>(change(2, new long[] {2, 1}, new float[] {0.5f, 0.4f}))); // similarities only
      h.processElement(new StreamRecord<>(change(3, new long[] {2, 3}, new float[] {0.95f, 0.7f}))); // 1 left, 3 joined
      h.processElement(new StreamRecord<>(new PoolChange(U, 4, "v2", new long[] {2, 3}, new float[] {0.9f, 0.8f}, false, T0 + 4)));

      List<PoolUpdate> out = h.extractOutputValues();
      assertThat(out).extracting(PoolUpdate::version).containsExactly(1L, 2L, 3L);
      assertThat(out.get(1).neighbourIds()).containsExactly(2L, 3L);
      assertThat(out.get(1).similarities()).containsExactly(0.95f, 0.7f); // the order and similarities of that moment
      assertThat(out.get(2).embeddingVersion()).isEqualTo("v2"); // a version change is always emitted
    }
  }

  @Test
  void newEmbeddingVersionIsEmittedEvenWithTheSameNeighbours() throws Exception {
    try (var h = harness(0)) {
      h.processElement(new StreamRecord<>(change(1, new long[] {1, 2}, new float[] {0.9f, 0.8f})));
      h.processElement(new StreamRecord<>(new PoolChange(U, 2, "v2", new long[] {1, 2}, new float[] {0.9f, 0.8f}, false, T0 + 2)));

      List<PoolUpdate> out = h.extractOutputValues();
      assertThat(out).extracting(PoolUpdate::embeddingVersion).containsExactly("v1", "v2");
      assertThat(out).extracting(PoolUpdate::version).containsExactly(1L, 2L);
    }
  }

  @Test
  void dropsChangesFromAnOlderSeq() throws Exception {
    try (var h = harness(0)) {
      h.processElement(new StreamRecord<>(change(3, new long[] {5}, new float[] {0.5f})));
      h.processElement(new StreamRecord<>(change(2, new long[] {6}, new float[] {0.6f}))); // old home reporting late

      assertThat(h.extractOutputValues()).singleElement().satisfies(p -> assertThat(p.neighbourIds()).containsExactly(5L));
    }
  }

  @Test
  void tombstoneIsEmittedOnceAndOnlyForAnEmittedPool() throws Exception {
    try (var h = harness(0)) {
      h.processElement(new StreamRecord<>(new PoolChange(7, 1, "", new long[0], new float[0], true, T0)));
      h.processElement(new StreamRecord<>(change(1, new long[] {1}, new float[] {0.9f})));
      h.processElement(new StreamRecord<>(new PoolChange(U, 2, "", new long[0], new float[0], true, T0)));
      h.processElement(new StreamRecord<>(change(1, new long[] {3}, new float[] {0.9f}))); // stale, after the delete

      List<PoolUpdate> out = h.extractOutputValues();
      assertThat(out).extracting(PoolUpdate::userId).containsExactly(U, U);
      assertThat(out.get(1).deleted()).isTrue();
      assertThat(out.get(1).version()).isEqualTo(2);
    }
  }

  @Test
  void debounceCoalescesABurstIntoOneEmissionFromATimer() throws Exception {
    try (var h = harness(100)) {
      h.processElement(new StreamRecord<>(change(1, new long[] {1}, new float[] {0.9f})));
      h.processElement(new StreamRecord<>(change(1, new long[] {2}, new float[] {0.8f})));
      h.processElement(new StreamRecord<>(change(2, new long[] {3}, new float[] {0.7f})));

      assertThat(h.extractOutputValues()).isEmpty();
      assertThat(h.numProcessingTimeTimers()).isEqualTo(1);
      assertThat(h.numKeyedStateEntries()).isEqualTo(2); // emitted-state and the pending change

      h.setProcessingTime(T0 + 100);

      assertThat(h.extractOutputValues()).singleElement().satisfies(p -> {
        assertThat(p.neighbourIds()).containsExactly(3L);
        assertThat(p.updatedAt()).isEqualTo(T0 + 100);
      });
      assertThat(h.numProcessingTimeTimers()).isZero();
      assertThat(h.numKeyedStateEntries()).isEqualTo(1);
    }
  }

  /**
   * The in-memory cache in front of keyed state (emit.cache-users) changes nothing that is emitted:
   * a random stream of changes for a few users (stale seqs, repeats, epsilon moves, tombstones)
   * gives the same output with a cache smaller than the user count (evictions) as without one,
   * also across a restore from a snapshot, which starts the cache empty.
   */
  @Test
  void cacheInFrontOfStateChangesNothingThatIsEmitted() throws Exception {
    java.util.SplittableRandom r = new java.util.SplittableRandom(3);
    List<PoolChange> stream = new java.util.ArrayList<>();
    long[] seq = new long[8];
    for (int i = 0; i < 600; i++) {
      int u = r.nextInt(8);
      seq[u] += r.nextInt(3) - (r.nextInt(10) == 0 ? 2 : 0); // mostly forward, sometimes stale
      boolean tomb = r.nextInt(25) == 0;
      long a = r.nextInt(4);
      long b = 4 + r.nextInt(4);
      float s = r.nextInt(3) == 0 ? 0.9f + 1e-5f * r.nextInt(3) : 0.5f + 0.1f * r.nextInt(4);
      stream.add(new PoolChange(u, seq[u], "v1", tomb ? new long[0] : new long[] {a, b},
          tomb ? new float[0] : new float[] {s, s - 0.1f}, tomb, T0 + i));
    }
    assertThat(run(stream, 0)).isEqualTo(run(stream, 3)).isNotEmpty();
  }

  /** Emitted (user, version, ids) for {@code stream}, restoring from a snapshot half way. */
  private static List<String> run(List<PoolChange> stream, int cacheUsers) throws Exception {
    List<String> emitted = new java.util.ArrayList<>();
    org.apache.flink.runtime.checkpoint.OperatorSubtaskState snapshot;
    var h = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new PoolEmitter(1e-4f, 0, false, cacheUsers), PoolChange::userId, Types.LONG);
    try (h) {
      for (PoolChange c : stream.subList(0, stream.size() / 2)) {
        h.processElement(new StreamRecord<>(c));
      }
      h.extractOutputValues().forEach(p -> emitted.add(p.userId() + "@" + p.version() + java.util.Arrays.toString(p.neighbourIds())));
      snapshot = h.snapshot(1L, T0);
    }
    try (var h2 = new KeyedOneInputStreamOperatorTestHarness<>(
        new org.apache.flink.streaming.api.operators.KeyedProcessOperator<>(new PoolEmitter(1e-4f, 0, false, cacheUsers)),
        PoolChange::userId, Types.LONG)) {
      h2.initializeState(snapshot);
      h2.open();
      for (PoolChange c : stream.subList(stream.size() / 2, stream.size())) {
        h2.processElement(new StreamRecord<>(c));
      }
      h2.extractOutputValues().forEach(p -> emitted.add(p.userId() + "@" + p.version() + java.util.Arrays.toString(p.neighbourIds())));
    }
    return emitted;
  }
}
