package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.schemas.ConfigKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PoolsConfigTest {
  @Test
  void sampleFileDocumentsEveryKeyWithItsDefault() throws Exception {
    PoolsConfig fromFile = PoolsConfig.load(Path.of("config/similar-user-pools.properties"));
    assertThat(fromFile).isEqualTo(PoolsConfig.defaults());
    assertThat(fromFile.asMap().keySet()).containsExactlyElementsOf(PoolsConfig.KEYS.stream().map(ConfigKeys.Key::name).toList());
  }

  @Test
  void invalidValuesNameTheKeyAndTheRange() {
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("pool.size", "0")))
        .hasMessage("pool.size must be in [1, 1000], was 0");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("mode", "ann")))
        .hasMessageContaining("mode must be exact, lsh or ivf");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("mode", "ivf")))
        .hasMessageContaining("ivf.centroids-file");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("emit.on", "rank")))
        .hasMessage("emit.on must be order or members, was 'rank'");
    assertThat(PoolsConfig.from(Map.of("emit.on", "MEMBERS")).emitOnMembersOnly()).isTrue();
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("rocksdb.compression", "gzip")))
        .hasMessage("rocksdb.compression must be default | none | snappy | lz4 | zstd, was 'gzip'");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("rocksdb.compaction-style", "fifo")))
        .hasMessage("rocksdb.compaction-style must be default | universal | level, was 'fifo'");
    assertThat(PoolsConfig.from(Map.of("rocksdb.compression", "LZ4")).rocksdbCompression()).isEqualTo("lz4");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("pool.sise", "5")))
        .hasMessageContaining("unknown config key 'pool.sise'");
  }

  @Test
  void kafkaClientSettingsPassThroughAndSecretsAreNeverPrinted() {
    PoolsConfig c = PoolsConfig.from(Map.of(
        "kafka.client.security.protocol", "SASL_PLAINTEXT",
        "kafka.client.sasl.mechanism", "SCRAM-SHA-256",
        "kafka.client.sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"pools\" password=\"s3cret\";",
        "kafka.client.basic.auth.user.info", "pools:hunter2"));
    assertThat(c.kafkaClientProperties()).containsEntry("security.protocol", "SASL_PLAINTEXT")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-256").hasSize(4);
    assertThat(KafkaIo.serdeConfig(c).basicAuthUserInfo()).isEqualTo("pools:hunter2");
    assertThat(c.toString()).doesNotContain("s3cret").doesNotContain("hunter2").contains("pools:***")
        .contains("kafka.client.security.protocol=SASL_PLAINTEXT");
    // round trip (the job's copy on the task managers is made with with())
    assertThat(c.with(Map.of("pool.size", "5")).kafkaClient()).isEqualTo(c.kafkaClient());
    assertThat(PoolsConfig.defaults().kafkaClient()).isEmpty();
    assertThat(KafkaIo.serdeConfig(PoolsConfig.defaults()).basicAuthUserInfo()).isNull();

    assertThatThrownBy(() -> PoolsConfig.from(Map.of("kafka.client.bootstrap.servers", "x:1")))
        .hasMessageContaining("use kafka.bootstrap-servers");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("kafka.client.isolation.level", "read_uncommitted")))
        .hasMessageContaining("the job sets isolation.level itself");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("kafka.client.basic.auth.user.info", "nocolon")))
        .hasMessageContaining("user:password");
  }

  @Test
  void restartDelaysGrowUpToTheMaximum() {
    assertThat(PoolsConfig.defaults().restartMaxDelayMs()).isEqualTo(60_000);
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("restart.delay-ms", "5000", "restart.max-delay-ms", "1000")))
        .hasMessage("restart.max-delay-ms must be in [5000, 3600000], was 1000");
    var env = org.apache.flink.streaming.api.environment.StreamExecutionEnvironment.getExecutionEnvironment();
    SimilarUserPoolsJob.configureEnvironment(env, PoolsConfig.from(Map.of("state.backend", "hashmap")));
    var conf = env.getConfiguration();
    assertThat(conf.get(org.apache.flink.configuration.RestartStrategyOptions.RESTART_STRATEGY)).isEqualTo("exponential-delay");
    assertThat(conf.get(org.apache.flink.configuration.RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF))
        .isEqualTo(java.time.Duration.ofMinutes(1));
  }

  @Test
  void excludedMembersDefaultToNoneAndParseFromAList() {
    assertThat(PoolsConfig.defaults().excludedMembers()).isEmpty();
    assertThat(PoolsConfig.defaults().asMap()).containsEntry("pool.exclude-members", "");
    PoolsConfig c = PoolsConfig.from(Map.of("pool.exclude-members", " 17, 42 ,-3,9223372036854775807,42,"));
    assertThat(c.excludedMembers()).containsExactlyInAnyOrder(17L, 42L, -3L, Long.MAX_VALUE);
    assertThat(c.excludeMembers()).hasToString("'17, 42 ,-3,9223372036854775807,42,' (4 users)");
    // with() round-trips the value as given
    assertThat(c.with(Map.of("pool.size", "5")).excludedMembers()).isEqualTo(c.excludedMembers());
    assertThat(PoolsConfig.from(Map.of("pool.exclude-members", "  "))).isEqualTo(PoolsConfig.defaults());
  }

  @Test
  void excludedMembersParseFromAFileWithOneIdPerLine(@TempDir Path dir) throws Exception {
    Path ids = dir.resolve("test-users.txt");
    Files.writeString(ids, "# LLaRA test users\n5\n 8 \r\n\n1000000000000\n");
    PoolsConfig c = PoolsConfig.from(Map.of("pool.exclude-members", "@" + ids));
    assertThat(c.excludedMembers()).containsExactlyInAnyOrder(5L, 8L, 1_000_000_000_000L);
    assertThat(c.asMap()).containsEntry("pool.exclude-members", "@" + ids);

    Path props = dir.resolve("pools.properties");
    Files.writeString(props, "pool.exclude-members=@" + ids.toString().replace("\\", "/") + "\n");
    assertThat(PoolsConfig.load(props).excludedMembers()).containsExactlyInAnyOrder(5L, 8L, 1_000_000_000_000L);
  }

  @Test
  void badExcludedMembersNameTheKeyAndTheEntry(@TempDir Path dir) throws Exception {
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("pool.exclude-members", "1,user-2,3")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("pool.exclude-members must be user ids separated by commas or @file; entry 2 is not a user id (a long): 'user-2'");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("pool.exclude-members", "1;2")))
        .hasMessageContaining("pool.exclude-members").hasMessageContaining("'1;2'");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("pool.exclude-members", "18446744073709551616")))
        .hasMessageContaining("pool.exclude-members").hasMessageContaining("not a user id (a long)");

    Path bad = dir.resolve("bad.txt");
    Files.writeString(bad, "1\n2\n3.5\n");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("pool.exclude-members", "@" + bad)))
        .hasMessage("pool.exclude-members: line 3 of " + bad + " is not a user id (a long): '3.5'");

    Path missing = dir.resolve("missing.txt");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("pool.exclude-members", "@" + missing)))
        .hasMessageStartingWith("pool.exclude-members: cannot read the user id file " + missing)
        .hasMessageContaining("NoSuchFileException");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("pool.exclude-members", "@" + dir)))
        .hasMessageStartingWith("pool.exclude-members: cannot read the user id file " + dir);
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("pool.exclude-members", "@ ")))
        .hasMessage("pool.exclude-members must name a file after '@', was '@ '");
  }
}
