package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.schemas.LatencyHistogram;
import io.adaptrec.worker.cli.ModelOptions;
import io.adaptrec.worker.data.Dataset;
import io.adaptrec.worker.data.SyntheticConfig;
import io.adaptrec.worker.data.SyntheticGenerator;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The demo's pure pieces: percentiles, ranks, the drill's damage, the model cache key, the verdict. */
class DemoPartsTest {

  @Test
  void percentilesUseNearestRank() {
    long[] sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assertThat(PipelineWatcher.percentile(sorted, 0.5)).isEqualTo(5);
    assertThat(PipelineWatcher.percentile(sorted, 0.95)).isEqualTo(10);
    assertThat(PipelineWatcher.percentile(sorted, 0.0)).isEqualTo(1);
    assertThat(PipelineWatcher.percentile(new long[0], 0.5)).isEqualTo(-1);
  }

  @Test
  void rankIsOneBasedAndAbsentItemsNeverHit() {
    assertThat(LiveDemo.rank(new long[] {7, 3, 9}, 7)).isEqualTo(1);
    assertThat(LiveDemo.rank(new long[] {7, 3, 9}, 9)).isEqualTo(3);
    assertThat(LiveDemo.rank(new long[] {7, 3, 9}, 4)).isEqualTo(Integer.MAX_VALUE);
    assertThat(LiveDemo.rank(new long[0], 4)).isEqualTo(Integer.MAX_VALUE);
  }

  @Test
  void theDrillTurnsTheFirstTensorIntoNaNAndKeepsTheRest() {
    String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer buf = ByteBuffer.allocate(8 + h.length + 12).order(ByteOrder.LITTLE_ENDIAN);
    buf.putLong(h.length).put(h).putFloat(1f).putFloat(2f).putFloat(3f);
    byte[] original = buf.array();
    byte[] bad = io.adaptrec.infra.chaos.BadAdapters.nanWeights(original);
    ByteBuffer out = ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN);
    int data = 8 + h.length;
    assertThat(out.getFloat(data)).isNaN();
    assertThat(out.getFloat(data + 4)).isNaN();
    assertThat(out.getFloat(data + 8)).isEqualTo(3f);
    assertThat(bad).hasSameSizeAs(original);
    assertThat(ByteBuffer.wrap(original).order(ByteOrder.LITTLE_ENDIAN).getFloat(data)).isEqualTo(1f);   // a copy
  }

  @Test
  void theModelCacheKeyChangesWithTheDataAndTheCut() {
    Dataset a = new SyntheticGenerator(SyntheticConfig.defaults().withSeed(1).withSize(30, 40, 5, 10)).dataset();
    Dataset b = new SyntheticGenerator(SyntheticConfig.defaults().withSeed(2).withSize(30, 40, 5, 10)).dataset();
    ModelOptions o = ModelOptions.defaults();
    assertThat(DemoModel.key(a, 0.7, o)).isEqualTo(DemoModel.key(a, 0.7, o)).startsWith("synthetic-s1-past70-");
    assertThat(DemoModel.key(a, 0.7, o)).isNotEqualTo(DemoModel.key(b, 0.7, o)).isNotEqualTo(DemoModel.key(a, 0.8, o));
  }

  @Test
  void histogramJsonKeepsTheNonEmptyRangeInMilliseconds() {
    LatencyHistogram h = new LatencyHistogram();
    h.record(5_000);
    h.record(5_000);
    h.record(80_000);
    Map<String, Object> j = LiveDemo.histogramJson(h);
    List<?> bounds = (List<?>) j.get("bounds_ms");
    List<?> counts = (List<?>) j.get("counts");
    assertThat(counts).hasSameSizeAs(bounds);
    assertThat(counts.get(0)).isEqualTo(2L);
    assertThat(counts.get(counts.size() - 1)).isEqualTo(1L);
    assertThat(((Number) bounds.get(0)).doubleValue()).isBetween(5.0, 6.0);
    assertThat(LiveDemo.histogramJson(new LatencyHistogram()).get("counts")).isEqualTo(List.of());
  }

  @Test
  void theVerdictNamesEveryMissingStage() {
    Map<String, Object> ok = new HashMap<>(Map.of("requests", 10L, "responses", 10L, "unanswered", 0L, "user_states", 5,
        "users_with_pool", 5, "adapters_published", 1L, "drill_adapter", "drill-damaged-abc",
        "rollout_decisions", List.of(Map.of("experiment", "exp-drill-damaged-abc", "action", "ABORT"))));
    assertThat(DemoReport.problems(ok)).isEmpty();
    Map<String, Object> bad = new HashMap<>(ok);
    bad.put("unanswered", 2L);
    bad.put("adapters_published", 0L);
    bad.put("rollout_decisions", List.of(Map.of("experiment", "exp-drill-damaged-abc", "action", "START")));
    assertThat(DemoReport.problems(bad)).hasSize(3)
        .anySatisfy(p -> assertThat(p).contains("2 request(s) went unanswered"))
        .anySatisfy(p -> assertThat(p).contains("trainer published no adapter"))
        .anySatisfy(p -> assertThat(p).contains("fault drill"));
  }
}
