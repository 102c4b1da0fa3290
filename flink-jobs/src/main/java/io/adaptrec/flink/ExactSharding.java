package io.adaptrec.flink;

import java.util.Arrays;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;

/**
 * Exact mode: users are homed by id hash into S shards, and every user is replicated to every
 * shard, so each shard holds a replica of all embeddings and ranks its own users against all of
 * them. An update costs one full scan (the updated user's own pool, at its home shard) plus one
 * scan of each shard's owned users; the second part is what spreads over the subtasks.
 *
 * <p>Shard ids are chosen as small integers that Flink's key-group hashing places on distinct
 * subtasks, so S = parallelism really uses every subtask (plain 0..S-1 can collide).
 */
public final class ExactSharding implements Partitioner {
  private static final long serialVersionUID = 1L;

  private final int[] shardKeys;

  public ExactSharding(int shards, int parallelism, int maxParallelism) {
    if (shards < 1) {
      throw new IllegalArgumentException("shards must be >= 1, was " + shards);
    }
    this.shardKeys = balancedKeys(shards, parallelism, maxParallelism);
  }

  static int[] balancedKeys(int shards, int parallelism, int maxParallelism) {
    int[] keys = new int[shards];
    boolean[] used = new boolean[Math.max(1, shards * 64 + 1024)];
    for (int s = 0; s < shards; s++) {
      int target = s % parallelism;
      int k = 0;
      while (k < used.length
          && (used[k] || KeyGroupRangeAssignment.assignKeyToParallelOperator(k, maxParallelism, parallelism) != target)) {
        k++;
      }
      if (k == used.length) {
        throw new IllegalStateException("no key found for shard " + s + " on subtask " + target);
      }
      used[k] = true;
      keys[s] = k;
    }
    return keys;
  }

  @Override
  public int home(long userId, float[] unitVector) {
    long h = userId * 0x9E3779B97F4A7C15L;
    return shardKeys[(int) Long.remainderUnsigned(h ^ (h >>> 32), shardKeys.length)];
  }

  @Override
  public int[] coverage(long userId, float[] unitVector) {
    int home = home(userId, unitVector);
    int[] cover = shardKeys.clone();
    for (int i = 0; i < cover.length; i++) {
      if (cover[i] == home) {
        cover[i] = cover[0];
        cover[0] = home;
      }
    }
    return cover;
  }

  @Override
  public int[] cells() {
    return shardKeys.clone();
  }

  @Override
  public String describe() {
    return "exact(shards=" + shardKeys.length + ", keys=" + Arrays.toString(shardKeys) + ")";
  }
}
