package io.adaptrec.flink.bench;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/** Freshness samples of a benchmark run, bucketed per millisecond up to a minute (thread-safe). */
final class FreshnessHistogram {
  static final int MAX_MS = 60_000;
  private final AtomicLongArray buckets = new AtomicLongArray(MAX_MS + 1);
  private final AtomicLong count = new AtomicLong();

  void record(long ms) {
    count.incrementAndGet();
    buckets.incrementAndGet((int) Math.max(0, Math.min(MAX_MS, ms)));
  }

  long count() {
    return count.get();
  }

  void clear() {
    count.set(0);
    for (int i = 0; i <= MAX_MS; i++) {
      buckets.set(i, 0);
    }
  }

  /** Percentile in ms (q in (0, 1]); -1 when nothing was recorded. */
  long percentile(double q) {
    long total = count.get();
    if (total == 0) {
      return -1;
    }
    long target = (long) Math.ceil(q * total);
    long seen = 0;
    for (int i = 0; i <= MAX_MS; i++) {
      seen += buckets.get(i);
      if (seen >= target) {
        return i;
      }
    }
    return MAX_MS;
  }
}
