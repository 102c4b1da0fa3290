package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * After any sequence of upserts, deletes and too-short histories, delivered to the cells in any
 * interleaving, exact mode's pools equal a brute-force Top-N over the final embeddings.
 * Embeddings come from a tiny integer grid so that equal similarities (ties) are common.
 */
class ExactPoolsPropertyTest {
  static final int MIN_HISTORY = 3;

  record Op(long user, float[] vector, int history, boolean delete) {
    UserUpdate toUpdate(long at) {
      return delete ? UserUpdate.delete(user, at) : UserUpdate.upsert(user, vector, "v1", history, at);
    }

    @Override
    public String toString() {
      return delete ? "del(" + user + ")" : "put(" + user + "," + Arrays.toString(vector) + ",h=" + history + ")";
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
    Arbitrary<Op> put = Combinators.combine(user, vector, Arbitraries.integers().between(0, 5))
        .as((u, v, h) -> new Op(u, v, h, false));
    Arbitrary<Op> del = user.map(u -> new Op(u, null, 0, true));
    return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, put), net.jqwik.api.Tuple.of(1, del)).list().ofMaxSize(150);
  }

  @Property(tries = 300)
  void exactPoolsEqualBruteForce(
      @ForAll("ops") List<Op> ops,
      @ForAll @IntRange(min = 1, max = 3) int shards,
      @ForAll @IntRange(min = 1, max = 4) int poolSize,
      @ForAll @IntRange(min = 0, max = 3) int spare,
      @ForAll @IntRange(min = 1, max = 20) int deliveryBatch,
      @ForAll long seed) {
    PoolSimulator sim = new PoolSimulator(new ExactSharding(shards, shards, 128), poolSize, poolSize + spare, MIN_HISTORY, seed);
    long t = 0;
    for (Op op : ops) {
      sim.accept(op.toUpdate(t++));
      sim.deliver(deliveryBatch);
    }
    sim.drain();

    Map<Long, float[]> finalUnits = finalEligible(ops);
    for (long u = 0; u <= 24; u++) {
      Candidates pool = sim.pool(u);
      if (!finalUnits.containsKey(u)) {
        assertThat(pool).as("user %d is not eligible and must have no pool", u).isNull();
        continue;
      }
      Candidates expected = BruteForce.topN(u, finalUnits, poolSize);
      assertThat(pool).as("pool of user %d", u).isNotNull();
      assertThat(pool.topIds(poolSize)).as("pool ids of user %d", u).containsExactly(expected.topIds(poolSize));
      assertThat(pool.topSims(poolSize)).as("pool similarities of user %d", u).containsExactly(expected.topSims(poolSize));
    }
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

  static List<UserUpdate> updates(List<Op> ops) {
    List<UserUpdate> out = new ArrayList<>();
    long t = 1_000;
    for (Op op : ops) {
      out.add(op.toUpdate(t++));
    }
    return out;
  }
}
