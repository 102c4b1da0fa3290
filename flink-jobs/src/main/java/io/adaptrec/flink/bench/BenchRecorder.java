package io.adaptrec.flink.bench;

import io.adaptrec.flink.PoolUpdate;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Shared in-JVM measurements of one benchmark run: the source and sink run inside the local
 * MiniCluster in this JVM, so static state is the simplest honest channel (never used on a real
 * cluster). Freshness is bucketed per millisecond up to a minute.
 */
final class BenchRecorder {
  static final int MAX_MS = 60_000;
  static final AtomicLong generated = new AtomicLong();
  static final AtomicLong phase2Start = new AtomicLong();
  static final AtomicLong emitted = new AtomicLong();
  static final AtomicLong measured = new AtomicLong();
  static final AtomicLongArray freshness = new AtomicLongArray(MAX_MS + 1);
  static final Map<Long, long[]> sampledPools = new ConcurrentHashMap<>();
  static volatile Set<Long> sample = Set.of();

  private BenchRecorder() {}

  static void reset(Set<Long> sampleUsers) {
    generated.set(0);
    phase2Start.set(0);
    emitted.set(0);
    measured.set(0);
    for (int i = 0; i <= MAX_MS; i++) {
      freshness.set(i, 0);
    }
    sampledPools.clear();
    sample = sampleUsers;
  }

  static void record(PoolUpdate p, long now) {
    emitted.incrementAndGet();
    long start = phase2Start.get();
    if (start > 0 && p.sourceProducedAt() >= start) {
      measured.incrementAndGet();
      freshness.incrementAndGet((int) Math.max(0, Math.min(MAX_MS, now - p.sourceProducedAt())));
    }
    if (sample.contains(p.userId())) {
      sampledPools.put(p.userId(), p.deleted() ? new long[0] : p.neighbourIds());
    }
  }

  /** Percentile of the recorded freshness in ms (q in (0, 1]); -1 when nothing was measured. */
  static long percentile(double q) {
    long total = measured.get();
    if (total == 0) {
      return -1;
    }
    long target = (long) Math.ceil(q * total);
    long seen = 0;
    for (int i = 0; i <= MAX_MS; i++) {
      seen += freshness.get(i);
      if (seen >= target) {
        return i;
      }
    }
    return MAX_MS;
  }

  /** The benchmark's sink: records freshness and the latest pool of sampled users. */
  static final class RecordingSink implements Sink<PoolUpdate> {
    private static final long serialVersionUID = 1L;

    @Override
    public SinkWriter<PoolUpdate> createWriter(WriterInitContext context) {
      return new SinkWriter<>() {
        @Override
        public void write(PoolUpdate element, Context ctx) {
          record(element, System.currentTimeMillis());
        }

        @Override
        public void flush(boolean endOfInput) {}

        @Override
        public void close() {}
      };
    }
  }
}
