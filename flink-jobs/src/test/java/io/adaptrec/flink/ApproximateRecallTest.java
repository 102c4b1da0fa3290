package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.flink.bench.SyntheticUsers;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Recall of the approximate modes on the benchmark's synthetic population, through the same
 * routing and cell code as the job (delivered in a random interleaving). Small enough for a unit
 * test; the benchmark measures the same at scale.
 */
class ApproximateRecallTest {
  static final int USERS = Integer.getInteger("recall.users", 20_000);
  static final int DIM = 32;
  static final int SAMPLE = 1_000;

  @Test
  void ivfReachesHighRecallAfterDrift() {
    SyntheticUsers gen = new SyntheticUsers(USERS, DIM, 11);
    float[][] sample = new float[Math.min(USERS, 20_000)][];
    SyntheticUsers forTraining = new SyntheticUsers(USERS, DIM, 11);
    for (int i = 0; i < sample.length; i++) {
      sample[i] = forTraining.next(0).embedding();
    }
    int lists = Integer.getInteger("recall.lists", 128);
    int probes = Integer.getInteger("recall.probes", 8);
    IvfPartitioner ivf = new IvfPartitioner(IvfPartitioner.train(sample, lists, 6, 3), probes);
    double recall = run(gen, ivf);
    System.out.printf("ivf %s users=%d recall@10=%.4f%n", ivf.describe(), USERS, recall);
    assertThat(recall).isGreaterThanOrEqualTo(0.95);
  }

  @Test
  void lshRecallIsMeasured() {
    SyntheticUsers gen = new SyntheticUsers(USERS, DIM, 11);
    SimHashPartitioner lsh = new SimHashPartitioner(DIM, Integer.getInteger("recall.bits", 6), Integer.getInteger("recall.radius", 1), 5);
    double recall = run(gen, lsh);
    System.out.printf("lsh %s users=%d recall@10=%.4f%n", lsh.describe(), USERS, recall);
    assertThat(recall).isGreaterThan(0.5);
  }

  static double run(SyntheticUsers gen, Partitioner partitioner) {
    PoolSimulator sim = new PoolSimulator(partitioner, 10, 20, 3, 1);
    int total = USERS * 2;
    for (int i = 0; i < total; i++) {
      sim.accept(gen.next(i));
      sim.deliver(2);
    }
    sim.drain();
    Map<Long, float[]> units = new HashMap<>();
    for (int u = 0; u < USERS; u++) {
      units.put((long) u, gen.embedding(u));
    }
    SplittableRandom r = new SplittableRandom(99);
    long hits = 0;
    long expectedTotal = 0;
    for (int i = 0; i < SAMPLE; i++) {
      long u = r.nextInt(USERS);
      long[] truth = BruteForce.topN(u, units, 10).topIds(10);
      long[] got = sim.pool(u).topIds(10);
      expectedTotal += truth.length;
      for (long t : truth) {
        for (long g : got) {
          hits += g == t ? 1 : 0;
        }
      }
    }
    return hits / (double) expectedTotal;
  }
}
