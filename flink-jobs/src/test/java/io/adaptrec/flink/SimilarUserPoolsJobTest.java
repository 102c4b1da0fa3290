package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.state.rocksdb.RocksDBConfigurableOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.rocksdb.CompactionStyle;
import org.rocksdb.CompressionType;

/**
 * The whole dataflow on a local MiniCluster at parallelism 2 with a bounded source and a
 * collecting sink: the last emitted pool of every user equals brute force (per embedding version
 * when users are split across versions and migrate), deleted and short-history users have no pool
 * and appear in none, and versions per user are gap-free; users of {@code pool.exclude-members}
 * get pools but are in none.
 */
class SimilarUserPoolsJobTest {
  static final int DIM = 8;

  @Test
  void rocksDbCompressionAndCompactionStyleAreSetOnTheJob() {
    ReadableConfig defaults = jobConfig(Map.of());
    assertThat(defaults.getOptional(RocksDBConfigurableOptions.COMPRESSION_PER_LEVEL))
        .as("default leaves the cluster's setting").isEmpty();
    assertThat(defaults.getOptional(RocksDBConfigurableOptions.COMPACTION_STYLE)).isEmpty();
    assertRocksDb(jobConfig(Map.of("rocksdb.compression", "none", "rocksdb.compaction-style", "universal")),
        CompressionType.NO_COMPRESSION, CompactionStyle.UNIVERSAL);
    assertRocksDb(jobConfig(Map.of("rocksdb.compression", "zstd", "rocksdb.compaction-style", "level")),
        CompressionType.ZSTD_COMPRESSION, CompactionStyle.LEVEL);
    assertThat(jobConfig(Map.of("state.backend", "hashmap", "rocksdb.compaction-style", "universal"))
        .getOptional(RocksDBConfigurableOptions.COMPACTION_STYLE)).isEmpty();
  }

  /** The configuration {@link SimilarUserPoolsJob#configureEnvironment} leaves on a job with these overrides. */
  private static ReadableConfig jobConfig(Map<String, String> overrides) {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1);
    SimilarUserPoolsJob.configureEnvironment(env, PoolsConfig.defaults().with(overrides));
    return env.getConfiguration();
  }

  private static void assertRocksDb(ReadableConfig conf, CompressionType compression,
      CompactionStyle style) {
    assertThat(conf.get(RocksDBConfigurableOptions.COMPRESSION_PER_LEVEL)).containsExactly(compression);
    assertThat(conf.get(RocksDBConfigurableOptions.COMPACTION_STYLE)).isEqualTo(style);
  }

  @Test
  void exactModeMatchesBruteForceAtParallelismTwo() throws Exception {
    List<UserUpdate> updates = randomUpdates(60, 600, new Random(7));
    PoolsConfig config = PoolsConfig.defaults().with(Map.of(
        "mode", "exact", "parallelism", "2", "state.backend", "hashmap", "restart.attempts", "0",
        "checkpoint.dir", "file://" + System.getProperty("java.io.tmpdir") + "/pools-job-test", "checkpoint.interval-ms", "500",
        "pool.spare-candidates", "3"));
    CollectingSink<PoolUpdate> sink = new CollectingSink<>("job-test-exact");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2);
    SimilarUserPoolsJob.configureEnvironment(env, config);
    DataGeneratorSource<UserUpdate> source =
        new DataGeneratorSource<>(i -> updates.get((int) (long) i), updates.size(), TypeInformation.of(UserUpdate.class));
    new SimilarUserPoolsJob(config, config.partitioner(), source, sink).withSourceParallelism(1).build(env);

    env.execute("pools-job-test");

    Map<Long, PoolUpdate> latest = new HashMap<>();
    Map<Long, Long> lastVersion = new HashMap<>();
    for (PoolUpdate p : sink.results()) {
      long expected = lastVersion.getOrDefault(p.userId(), 0L) + 1;
      assertThat(p.version()).as("version of user %d", p.userId()).isEqualTo(expected);
      lastVersion.put(p.userId(), p.version());
      latest.put(p.userId(), p);
    }
    Map<Long, float[]> finalUnits = finalEligible(updates, 3);
    assertThat(finalUnits).hasSizeGreaterThan(20);
    for (Map.Entry<Long, PoolUpdate> e : latest.entrySet()) {
      PoolUpdate p = e.getValue();
      if (!finalUnits.containsKey(e.getKey())) {
        assertThat(p.deleted()).as("user %d is gone and its last record is a tombstone", e.getKey()).isTrue();
        continue;
      }
      Candidates expected = BruteForce.topN(e.getKey(), finalUnits, 10);
      assertThat(p.neighbourIds()).as("pool of user %d", e.getKey()).containsExactly(expected.topIds(10));
    }
    assertThat(latest.keySet()).containsAll(finalUnits.keySet());
  }

  @Test
  void poolsStayWithinOneEmbeddingVersionWhileUsersMigrate() throws Exception {
    Random rnd = new Random(13);
    List<UserUpdate> updates = migratingUpdates(60, 600, rnd);
    PoolsConfig config = PoolsConfig.defaults().with(Map.of(
        "mode", "exact", "parallelism", "2", "state.backend", "hashmap", "restart.attempts", "0",
        "checkpoint.dir", "file://" + System.getProperty("java.io.tmpdir") + "/pools-job-test-versions", "checkpoint.interval-ms", "500",
        "pool.spare-candidates", "3"));
    CollectingSink<PoolUpdate> sink = new CollectingSink<>("job-test-versions");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2);
    SimilarUserPoolsJob.configureEnvironment(env, config);
    DataGeneratorSource<UserUpdate> source =
        new DataGeneratorSource<>(i -> updates.get((int) (long) i), updates.size(), TypeInformation.of(UserUpdate.class));
    new SimilarUserPoolsJob(config, config.partitioner(), source, sink).withSourceParallelism(1).build(env);

    env.execute("pools-job-test-versions");

    // versions each user ever had an eligible record in: a v1-only user is never in a v2 pool and vice versa
    Map<Long, java.util.Set<String>> everIn = new HashMap<>();
    for (UserUpdate u : updates) {
      if (!u.deleted() && u.historyLength() >= 3) {
        everIn.computeIfAbsent(u.userId(), k -> new java.util.HashSet<>()).add(u.embeddingVersion());
      }
    }
    Map<Long, PoolUpdate> latest = new HashMap<>();
    Map<Long, Long> lastVersion = new HashMap<>();
    for (PoolUpdate p : sink.results()) {
      assertThat(p.version()).as("version of user %d", p.userId()).isEqualTo(lastVersion.getOrDefault(p.userId(), 0L) + 1);
      lastVersion.put(p.userId(), p.version());
      latest.put(p.userId(), p);
      if (!p.deleted()) {
        assertThat(everIn.get(p.userId())).as("versions of user %d", p.userId()).contains(p.embeddingVersion());
        for (long m : p.neighbourIds()) {
          assertThat(everIn.get(m)).as("versions of member %d of %d's %s pool", m, p.userId(), p.embeddingVersion()).contains(p.embeddingVersion());
        }
      }
    }
    Map<Long, float[]> finalUnits = finalEligible(updates, 3);
    Map<Long, String> finalVersions = new HashMap<>();
    for (UserUpdate u : updates) {
      if (finalUnits.containsKey(u.userId()) && !u.deleted()) {
        finalVersions.put(u.userId(), u.embeddingVersion());
      }
    }
    assertThat(finalVersions.values()).contains("v1", "v2");
    assertThat(latest.keySet()).containsAll(finalUnits.keySet());
    for (Map.Entry<Long, PoolUpdate> e : latest.entrySet()) {
      PoolUpdate p = e.getValue();
      if (!finalUnits.containsKey(e.getKey())) {
        assertThat(p.deleted()).as("user %d is gone and its last record is a tombstone", e.getKey()).isTrue();
        continue;
      }
      assertThat(p.embeddingVersion()).as("embedding version of user %d's pool", e.getKey()).isEqualTo(finalVersions.get(e.getKey()));
      Candidates expected = BruteForce.topNInVersion(e.getKey(), finalUnits, finalVersions, 10);
      assertThat(p.neighbourIds()).as("pool of user %d", e.getKey()).containsExactly(expected.topIds(10));
    }
  }

  @Test
  void excludedUsersGetPoolsButAreInNone(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    List<UserUpdate> updates = migratingUpdates(60, 600, new Random(17));
    java.util.Set<Long> excluded = new java.util.TreeSet<>();
    for (long u = 0; u < 60; u += 4) {
      excluded.add(u);
    }
    java.nio.file.Path ids = dir.resolve("held-out-users.txt");
    java.nio.file.Files.write(ids, excluded.stream().map(String::valueOf).toList());
    PoolsConfig config = PoolsConfig.defaults().with(Map.of(
        "mode", "exact", "parallelism", "2", "state.backend", "hashmap", "restart.attempts", "0",
        "checkpoint.dir", "file://" + System.getProperty("java.io.tmpdir") + "/pools-job-test-excluded", "checkpoint.interval-ms", "500",
        "pool.spare-candidates", "3", "pool.exclude-members", "@" + ids));
    assertThat(config.excludedMembers()).isEqualTo(excluded);
    CollectingSink<PoolUpdate> sink = new CollectingSink<>("job-test-excluded");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2);
    SimilarUserPoolsJob.configureEnvironment(env, config);
    DataGeneratorSource<UserUpdate> source =
        new DataGeneratorSource<>(i -> updates.get((int) (long) i), updates.size(), TypeInformation.of(UserUpdate.class));
    new SimilarUserPoolsJob(config, config.partitioner(), source, sink).withSourceParallelism(1).build(env);

    env.execute("pools-job-test-excluded");

    Map<Long, PoolUpdate> latest = new HashMap<>();
    for (PoolUpdate p : sink.results()) {
      assertThat(java.util.Arrays.stream(p.neighbourIds()).boxed().toList()).as("pool %d of user %d", p.version(), p.userId()).doesNotContainAnyElementsOf(excluded);
      latest.put(p.userId(), p);
    }
    Map<Long, float[]> finalUnits = finalEligible(updates, 3);
    Map<Long, String> finalVersions = new HashMap<>();
    for (UserUpdate u : updates) {
      if (finalUnits.containsKey(u.userId()) && !u.deleted()) {
        finalVersions.put(u.userId(), u.embeddingVersion());
      }
    }
    assertThat(finalUnits.keySet()).as("eligible excluded users").containsAnyElementsOf(excluded);
    assertThat(latest.keySet()).containsAll(finalUnits.keySet());
    for (long u : finalUnits.keySet()) {
      PoolUpdate p = latest.get(u);
      assertThat(p.deleted()).isFalse();
      assertThat(p.embeddingVersion()).as("embedding version of user %d's pool", u).isEqualTo(finalVersions.get(u));
      Candidates expected = BruteForce.topNInVersion(u, finalUnits, finalVersions, excluded, 10);
      assertThat(p.neighbourIds()).as("pool of user %d (excluded: %s)", u, excluded.contains(u)).containsExactly(expected.topIds(10));
    }
  }

  @Test
  void badRecordsGoToTheInjectedDeadLetterSinkWhilePoolsKeepFlowing() throws Exception {
    List<UserUpdate> good = randomUpdates(20, 100, new Random(11));
    List<UserUpdate> updates = new ArrayList<>(good.subList(0, 50));
    UserUpdate.Origin corrupt = new UserUpdate.Origin("adaptrec.user-state", 1, 41, null, new byte[] {0x7b}, "unknown magic byte 0x7b");
    updates.add(UserUpdate.undecodable(corrupt, 1_700_000_000_000L));
    updates.add(UserUpdate.upsert(500, new float[DIM], "v1", 5, 1_700_000_000_000L)); // all zeros
    updates.add(UserUpdate.upsert(501, new float[0], "v1", 5, 1_700_000_000_000L)); // no vector yet: counted only
    updates.addAll(good.subList(50, good.size()));
    PoolsConfig config = PoolsConfig.defaults().with(Map.of(
        "mode", "exact", "parallelism", "2", "state.backend", "hashmap", "restart.attempts", "0",
        "checkpoint.dir", "file://" + System.getProperty("java.io.tmpdir") + "/pools-job-test-dlq", "checkpoint.interval-ms", "500"));
    CollectingSink<PoolUpdate> sink = new CollectingSink<>("job-test-dlq-pools");
    CollectingSink<DeadLetterRecord> deadLetters = new CollectingSink<>("job-test-dlq-dead-letters");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2);
    SimilarUserPoolsJob.configureEnvironment(env, config);
    DataGeneratorSource<UserUpdate> source =
        new DataGeneratorSource<>(i -> updates.get((int) (long) i), updates.size(), TypeInformation.of(UserUpdate.class));
    new SimilarUserPoolsJob(config, config.partitioner(), source, sink).withSourceParallelism(1).withDeadLetterSink(deadLetters).build(env);

    env.execute("pools-job-test-dlq");

    assertThat(deadLetters.results()).extracting(DeadLetterRecord::offset, DeadLetterRecord::error).containsExactlyInAnyOrder(
        org.assertj.core.groups.Tuple.tuple(41L, "cannot deserialize record: unknown magic byte 0x7b"),
        org.assertj.core.groups.Tuple.tuple(-1L, "user 500 not pooled: embedding is all zeros or holds NaN/infinity"));
    Map<Long, PoolUpdate> latest = new HashMap<>();
    sink.results().forEach(p -> latest.put(p.userId(), p));
    Map<Long, float[]> finalUnits = finalEligible(good, 3);
    assertThat(latest.keySet()).containsAll(finalUnits.keySet()).doesNotContain(500L, 501L);
    for (long u : finalUnits.keySet()) {
      assertThat(latest.get(u).neighbourIds()).as("pool of user %d", u).containsExactly(BruteForce.topN(u, finalUnits, 10).topIds(10));
    }
  }

  /** Random upserts (a few with short histories) and deletes over {@code users} users. */
  static List<UserUpdate> randomUpdates(int users, int count, Random rnd) {
    List<UserUpdate> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long user = rnd.nextInt(users);
      long at = 1_700_000_000_000L + i;
      if (rnd.nextInt(12) == 0) {
        out.add(UserUpdate.delete(user, at));
      } else {
        float[] v = new float[DIM];
        for (int d = 0; d < DIM; d++) {
          v[d] = (float) rnd.nextGaussian();
        }
        out.add(UserUpdate.upsert(user, v, "v1", rnd.nextInt(10) == 0 ? 2 : 5, at));
      }
    }
    return out;
  }

  /**
   * Like {@link #randomUpdates}, split across embedding versions: users with id % 3 == 0 are in v2
   * from the start, those with id % 3 == 1 migrate from v1 to v2 at a random point of the stream
   * (and stay), the rest stay in v1.
   */
  static List<UserUpdate> migratingUpdates(int users, int count, Random rnd) {
    int[] migrateAt = new int[users];
    for (int u = 0; u < users; u++) {
      migrateAt[u] = u % 3 == 0 ? 0 : u % 3 == 1 ? rnd.nextInt(count) : Integer.MAX_VALUE;
    }
    List<UserUpdate> out = new ArrayList<>();
    List<UserUpdate> base = randomUpdates(users, count, rnd);
    for (int i = 0; i < base.size(); i++) {
      UserUpdate u = base.get(i);
      String version = i >= migrateAt[(int) u.userId()] ? "v2" : "v1";
      out.add(u.deleted() ? u : new UserUpdate(u.userId(), u.embedding(), version, u.historyLength(), false, u.producedAt()));
    }
    return out;
  }

  static Map<Long, float[]> finalEligible(List<UserUpdate> updates, int minHistory) {
    Map<Long, float[]> units = new HashMap<>();
    for (UserUpdate u : updates) {
      if (u.deleted() || u.historyLength() < minHistory) {
        units.remove(u.userId());
      } else {
        units.put(u.userId(), Vectors.normalised(u.embedding()));
      }
    }
    return units;
  }
}
