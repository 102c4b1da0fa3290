package io.adaptrec.flink.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench pools --path kafka} end to end at a small scale: embedded broker and registry, the
 * production job with its exactly-once sink, backlog then paced phase, pools read back
 * read_committed. Exact mode, so the final pools read back must equal brute force.
 */
class KafkaPoolsBenchmarkIT {

  @Test
  void measuresThroughputFreshnessAndRecallThroughKafka(@TempDir Path dir) throws Exception {
    int users = 3000;
    PoolsBenchmark.Options o = new PoolsBenchmark.Options(users, 16, "exact", 3000, 0, 2, "hashmap",
        8, 4, 4, 1, 200, 42, dir, "kafka", 500, 1500, null, null, Map.of(), Map.of("taskmanager.memory.managed.size", "64m"));
    Map<String, Object> report = PoolsBenchmark.run(o);

    assertThat(report).containsEntry("path", "kafka").containsEntry("exactly_once", true)
        .containsEntry("flink_settings", Map.of("taskmanager.memory.managed.size", "64m"));
    assertThat((double) report.get("recall@10")).isGreaterThanOrEqualTo(0.999);
    assertThat(report.get("recall_sample_with_pool")).isEqualTo(200L);
    assertThat((double) report.get("updates_per_sec")).isPositive();
    assertThat((double) report.get("paced_achieved_rate")).isPositive();
    assertThat((long) report.get("freshness_measured")).isPositive();
    assertThat((long) report.get("p99_freshness_ms")).isGreaterThanOrEqualTo((long) report.get("p50_freshness_ms")).isPositive();
    assertThat((long) report.get("pools_read")).isGreaterThanOrEqualTo(users);

    Path json = dir.resolve("report.json");
    PoolsBenchmark.writeJson(report, json);
    assertThat(Files.readString(json)).contains("\"path\" : \"kafka\"", "\"p99_freshness_ms\"");
  }
}
