package io.adaptrec.schemas;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The latency histogram carried by {@code ArmMetrics} ({@code latencyBoundsMicros},
 * {@code latencyCounts}): fixed bucket bounds, so histograms from any window, partition or worker
 * add up bucket by bucket, and a quantile such as the p99 guardrail can be read from the sum (a sum
 * of latencies cannot give it).
 *
 * <p>Bounds grow by a factor of 2<sup>1/4</sup> from 100 µs to about 100 s (≈ 19 % wide buckets): a
 * quantile read from it is within one bucket, i.e. at most ≈ 19 % above the true value. A last
 * bucket without bound counts everything slower. Not thread-safe; one owner adds to it.
 */
public final class LatencyHistogram {
  /** The bucket upper bounds every producer uses, in microseconds, ascending. */
  public static final long[] BOUNDS_MICROS = bounds();

  private final long[] bounds;
  private final long[] counts;

  private static long[] bounds() {
    List<Long> b = new ArrayList<>();
    for (double x = 100; x <= 100_000_000; x *= Math.pow(2, 0.25)) {
      long v = Math.round(x);
      if (b.isEmpty() || v > b.get(b.size() - 1)) {
        b.add(v);
      }
    }
    return b.stream().mapToLong(Long::longValue).toArray();
  }

  /** An empty histogram on {@link #BOUNDS_MICROS}. */
  public LatencyHistogram() {
    this(BOUNDS_MICROS, new long[BOUNDS_MICROS.length + 1]);
  }

  private LatencyHistogram(long[] bounds, long[] counts) {
    this.bounds = bounds;
    this.counts = counts;
  }

  /**
   * The histogram an {@code ArmMetrics} record carries; empty when the record has none (written by
   * an older producer).
   *
   * @throws IllegalArgumentException when the counts do not have one more entry than the bounds
   */
  public static LatencyHistogram of(List<Long> boundsMicros, List<Long> counts) {
    if (boundsMicros.isEmpty() && counts.isEmpty()) {
      return new LatencyHistogram();
    }
    if (counts.size() != boundsMicros.size() + 1) {
      throw new IllegalArgumentException("latency histogram has " + boundsMicros.size() + " bounds but "
          + counts.size() + " counts (expected bounds + 1)");
    }
    long[] b = boundsMicros.stream().mapToLong(Long::longValue).toArray();
    for (int i = 1; i < b.length; i++) {
      if (b[i] <= b[i - 1]) {
        throw new IllegalArgumentException("latency histogram bounds are not ascending at " + i);
      }
    }
    return new LatencyHistogram(b, counts.stream().mapToLong(Long::longValue).toArray());
  }

  /** Counts one latency. */
  public void record(long micros) {
    int i = Arrays.binarySearch(bounds, micros);
    counts[i >= 0 ? i : -i - 1]++;
  }

  /** Adds {@code other} bucket by bucket; both must have the same bounds. */
  public LatencyHistogram add(LatencyHistogram other) {
    if (!Arrays.equals(bounds, other.bounds)) {
      throw new IllegalArgumentException("cannot add latency histograms with different bucket bounds");
    }
    for (int i = 0; i < counts.length; i++) {
      counts[i] += other.counts[i];
    }
    return this;
  }

  public long count() {
    return Arrays.stream(counts).sum();
  }

  /**
   * The upper bound of the bucket holding quantile {@code q} (0 &lt; q ≤ 1): an upper estimate of the
   * q-quantile; {@link Long#MAX_VALUE} when it falls into the unbounded last bucket, 0 when empty.
   */
  public long quantileMicros(double q) {
    long n = count();
    if (n == 0) {
      return 0;
    }
    long rank = (long) Math.ceil(q * n);
    long seen = 0;
    for (int i = 0; i < counts.length; i++) {
      seen += counts[i];
      if (seen >= rank) {
        return i < bounds.length ? bounds[i] : Long.MAX_VALUE;
      }
    }
    return Long.MAX_VALUE;
  }

  /** Responses slower than {@code micros} (counting whole buckets whose bound exceeds it). */
  public long countAbove(long micros) {
    long out = 0;
    for (int i = 0; i < counts.length; i++) {
      if (i >= bounds.length || bounds[i] > micros) {
        out += counts[i];
      }
    }
    return out;
  }

  public List<Long> boundsList() {
    return Arrays.stream(bounds).boxed().toList();
  }

  public List<Long> countsList() {
    return Arrays.stream(counts).boxed().toList();
  }
}
