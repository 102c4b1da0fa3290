package io.adaptrec.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

  @Test
  void quantilesAreUpperBoundsWithinOneBucket() {
    LatencyHistogram h = new LatencyHistogram();
    for (int i = 1; i <= 1000; i++) {
      h.record(i * 1000L);   // 1 ms .. 1 s, uniform
    }
    assertThat(h.count()).isEqualTo(1000);
    long p99 = h.quantileMicros(0.99);
    assertThat(p99).isGreaterThanOrEqualTo(990_000L).isLessThanOrEqualTo((long) (990_000 * 1.19) + 1);
    long p50 = h.quantileMicros(0.5);
    assertThat(p50).isGreaterThanOrEqualTo(500_000L).isLessThanOrEqualTo((long) (500_000 * 1.19) + 1);
    assertThat(h.countAbove(p99)).isLessThanOrEqualTo(10);
  }

  @Test
  void histogramsFromRecordsAddUpAndSurviveTheRoundTrip() {
    LatencyHistogram a = new LatencyHistogram();
    a.record(50);
    a.record(2_000);
    LatencyHistogram b = LatencyHistogram.of(a.boundsList(), a.countsList());
    b.record(500_000_000L);   // slower than the last bound
    assertThat(b.add(a).count()).isEqualTo(5);
    assertThat(b.quantileMicros(1.0)).isEqualTo(Long.MAX_VALUE);
    assertThat(LatencyHistogram.of(List.of(), List.of()).count()).isZero();
  }

  @Test
  void malformedHistogramsAreRefusedWithAReason() {
    assertThatThrownBy(() -> LatencyHistogram.of(List.of(1L, 2L), List.of(1L, 1L)))
        .hasMessageContaining("2 bounds but 2 counts");
    assertThatThrownBy(() -> LatencyHistogram.of(List.of(2L, 1L), List.of(1L, 1L, 1L)))
        .hasMessageContaining("not ascending");
  }
}
