package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * After any sequence of upserts, deletes and too-short histories, delivered to the cells in any
 * interleaving, exact mode's pools equal a brute-force Top-N over the final embeddings, computed
 * per embedding version. Users are split across one or two embedding versions and move between
 * them (only v1 to v2 when {@code monotone}, the streams module's migration; both ways
 * otherwise); every pool change on the way holds only members whose latest embedding version at
 * that cell is the pool's (checked by {@link PoolSimulator}), in every mode.
 * A random set of users is excluded from being pool members ({@code pool.exclude-members}): no
 * pool change on the way ever holds one, in every mode, and in exact mode they still end with the
 * brute-force pool among the non-excluded users of their version (the reference applies the
 * same exclusion).
 * Embeddings come from a tiny integer grid so that equal similarities (ties) are common.
 */
class ExactPoolsPropertyTest {
  static final int MIN_HISTORY = 3;

  record Op(long user, float[] vector, int history, boolean delete, String version) {
    UserUpdate toUpdate(long at) {
      return delete ? UserUpdate.delete(user, at) : UserUpdate.upsert(user, vector, version, history, at);
    }

    Op withVersion(String v) {
      return new Op(user, vector, history, delete, v);
    }

    @Override
    public String toString() {
      return delete ? "del(" + user + ")" : "put(" + user + "," + Arrays.toString(vector) + ",h=" + history + "," + version + ")";
    }
  }

  @Provide
  Arbitrary<List<Op>> ops() {
    Arbitrary<Long> user = Arbitraries.longs().between(0, 24);
    Arbitrary<float[]> vector = Arbitraries.integers().between(-2, 2).array(int[].class).ofSize(4)
        .map(a -> {
          float[] f = new float[a.length];
          for (int i = 0; i < a.length; i++) {
            f[i] = a[i];
          }
          f[0] = f[0] == 0 && f[1] == 0 && f[2] == 0 && f[3] == 0 ? 1 : f[0]; // never the zero vector
          return f;
        });
    Arbitrary<Op> put = Combinators.combine(user, vector, Arbitraries.integers().between(0, 5), Arbitraries.of("v1", "v2"))
        .as((u, v, h, version) -> new Op(u, v, h, false, version));
    Arbitrary<Op> del = user.map(u -> new Op(u, null, 0, true, ""));
    return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, put), net.jqwik.api.Tuple.of(1, del)).list().ofMaxSize(150);
  }

  /** Users excluded from being members: none, a few, or most of the 25. */
  @Provide
  Arbitrary<Set<Long>> excludedSets() {
    return Arbitraries.longs().between(0, 24).set().ofMaxSize(20);
  }

  @Property(tries = 300)
  void exactPoolsEqualBruteForcePerVersion(
      @ForAll("ops") List<Op> generated,
      @ForAll @IntRange(min = 1, max = 2) int versions,
      @ForAll boolean monotone,
      @ForAll @IntRange(min = 1, max = 3) int shards,
      @ForAll @IntRange(min = 1, max = 4) int poolSize,
      @ForAll @IntRange(min = 0, max = 3) int spare,
      @ForAll @IntRange(min = 1, max = 20) int deliveryBatch,
      @ForAll("excludedSets") Set<Long> excluded,
      @ForAll long seed) {
    List<Op> ops = withVersions(generated, versions, monotone);
    PoolSimulator sim = run(new ExactSharding(shards, shards, 128), ops, poolSize, spare, deliveryBatch, excluded, seed);

    assertThat(sim.versionViolations).as("pool changes mixing embedding versions").isEmpty();
    assertThat(sim.exclusionViolations).as("pool changes holding excluded users %s", excluded).isEmpty();
    Map<Long, float[]> finalUnits = finalEligible(ops);
    Map<Long, String> finalVersions = finalVersions(ops);
    for (long u = 0; u <= 24; u++) {
      Candidates pool = sim.pool(u);
      if (!finalUnits.containsKey(u)) {
        assertThat(pool).as("user %d is not eligible and must have no pool", u).isNull();
        continue;
      }
      Candidates expected = BruteForce.topNInVersion(u, finalUnits, finalVersions, excluded, poolSize);
      assertThat(pool).as("pool of user %d", u).isNotNull();
      assertThat(sim.poolEmbeddingVersion(u)).as("embedding version of user %d's pool", u).isEqualTo(finalVersions.get(u));
      assertThat(pool.topIds(poolSize)).as("pool ids of user %d", u).containsExactly(expected.topIds(poolSize));
      assertThat(pool.topSims(poolSize)).as("pool similarities of user %d", u).containsExactly(expected.topSims(poolSize));
    }
  }

  /**
   * {@code emit.on=members}: cells report a pool only when its set of members changes, so the last
   * report a user's pool got (newest seq, as PoolEmitter keeps it) must hold exactly the members of
   * the brute-force pool: no membership change may go unreported, whatever the order changes.
   */
  @Property(tries = 200)
  void membersModeReportsEveryMembershipChange(
      @ForAll("ops") List<Op> generated,
      @ForAll @IntRange(min = 1, max = 2) int versions,
      @ForAll @IntRange(min = 1, max = 3) int shards,
      @ForAll @IntRange(min = 1, max = 4) int poolSize,
      @ForAll @IntRange(min = 0, max = 3) int spare,
      @ForAll @IntRange(min = 1, max = 20) int deliveryBatch,
      @ForAll("excludedSets") Set<Long> excluded,
      @ForAll long seed) {
    List<Op> ops = withVersions(generated, versions, true);
    PoolSimulator sim = run(new ExactSharding(shards, shards, 128), ops, poolSize, spare, deliveryBatch, excluded, seed, true);

    assertThat(sim.versionViolations).as("pool changes mixing embedding versions").isEmpty();
    Map<Long, float[]> finalUnits = finalEligible(ops);
    Map<Long, String> finalVersions = finalVersions(ops);
    for (long u = 0; u <= 24; u++) {
      if (!finalUnits.containsKey(u)) {
        continue;
      }
      long[] expected = BruteForce.topNInVersion(u, finalUnits, finalVersions, excluded, poolSize).topIds(poolSize);
      assertThat(sim.reported).as("user %d's pool was reported", u).containsKey(u);
      assertThat(sim.reported.get(u)).as("last reported members of user %d", u).containsExactlyInAnyOrder(expected);
    }
  }

  /**
   * ivf and lsh are approximate, but the version rule and the exclusion are not: no pool ever
   * mixes versions or holds an excluded user.
   */
  @Property(tries = 150)
  void approximateModesNeverMixVersions(
      @ForAll("ops") List<Op> generated,
      @ForAll boolean monotone,
      @ForAll boolean lsh,
      @ForAll @IntRange(min = 1, max = 3) int poolSize,
      @ForAll @IntRange(min = 0, max = 3) int spare,
      @ForAll @IntRange(min = 1, max = 20) int deliveryBatch,
      @ForAll("excludedSets") Set<Long> excluded,
      @ForAll long seed) {
    List<Op> ops = withVersions(generated, 2, monotone);
    Partitioner partitioner = lsh
        ? new SimHashPartitioner(4, 3, 1, seed)
        : new IvfPartitioner(new float[][] {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}, {-1, -1, 0, 0}, {0, 0, -1, -1}}, 2);
    PoolSimulator sim = run(partitioner, ops, poolSize, spare, deliveryBatch, excluded, seed);

    assertThat(sim.versionViolations).as("pool changes mixing embedding versions").isEmpty();
    assertThat(sim.exclusionViolations).as("pool changes holding excluded users %s", excluded).isEmpty();
    Map<Long, String> finalVersions = finalVersions(ops);
    Map<Long, float[]> finalUnits = finalEligible(ops);
    for (long u = 0; u <= 24; u++) {
      Candidates pool = sim.pool(u);
      if (!finalUnits.containsKey(u)) {
        assertThat(pool).as("user %d is not eligible and must have no pool", u).isNull();
        continue;
      }
      assertThat(sim.poolEmbeddingVersion(u)).as("embedding version of user %d's pool", u).isEqualTo(finalVersions.get(u));
      for (long m : pool.topIds(poolSize)) {
        assertThat(finalVersions.get(m)).as("version of member %d of user %d's pool", m, u).isEqualTo(finalVersions.get(u));
        assertThat(excluded).as("member %d of user %d's pool", m, u).doesNotContain(m);
      }
    }
  }

  static PoolSimulator run(Partitioner partitioner, List<Op> ops, int poolSize, int spare, int deliveryBatch, Set<Long> excluded, long seed) {
    return run(partitioner, ops, poolSize, spare, deliveryBatch, excluded, seed, false);
  }

  static PoolSimulator run(Partitioner partitioner, List<Op> ops, int poolSize, int spare, int deliveryBatch, Set<Long> excluded,
      long seed, boolean membersOnly) {
    PoolSimulator sim = new PoolSimulator(partitioner, poolSize, poolSize + spare, MIN_HISTORY, excluded, seed);
    sim.membersOnly = membersOnly;
    long t = 0;
    for (Op op : ops) {
      sim.accept(op.toUpdate(t++));
      sim.deliver(deliveryBatch);
    }
    sim.drain();
    return sim;
  }

  /**
   * One version: everything v1. Two: as generated (users split, moving both ways), or with
   * {@code monotone} a migration: once a user has been put in v2 it stays there.
   */
  static List<Op> withVersions(List<Op> ops, int versions, boolean monotone) {
    List<Op> out = new ArrayList<>();
    java.util.Set<Long> migrated = new java.util.HashSet<>();
    for (Op op : ops) {
      if (op.delete()) {
        out.add(op);
      } else if (versions == 1) {
        out.add(op.withVersion("v1"));
      } else if (monotone && (migrated.contains(op.user()) || op.version().equals("v2"))) {
        migrated.add(op.user());
        out.add(op.withVersion("v2"));
      } else {
        out.add(op);
      }
    }
    return out;
  }

  /** The final unit embedding of every user that ends up eligible for pooling. */
  static Map<Long, float[]> finalEligible(List<Op> ops) {
    Map<Long, float[]> units = new HashMap<>();
    for (Op op : ops) {
      if (op.delete() || op.history() < MIN_HISTORY) {
        units.remove(op.user());
      } else {
        units.put(op.user(), Vectors.normalised(op.vector()));
      }
    }
    return units;
  }

  /** The embedding version of the final embedding of every user that ends up eligible for pooling. */
  static Map<Long, String> finalVersions(List<Op> ops) {
    Map<Long, String> versions = new HashMap<>();
    for (Op op : ops) {
      if (op.delete() || op.history() < MIN_HISTORY) {
        versions.remove(op.user());
      } else {
        versions.put(op.user(), op.version());
      }
    }
    return versions;
  }

  static List<UserUpdate> updates(List<Op> ops) {
    List<UserUpdate> out = new ArrayList<>();
    long t = 1_000;
    for (Op op : ops) {
      out.add(op.toUpdate(t++));
    }
    return out;
  }
}
