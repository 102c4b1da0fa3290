package io.adaptrec.flink.bench;

import io.adaptrec.flink.PoolUpdate;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Shared in-JVM measurements of one benchmark run: the source and sink run inside the local
 * MiniCluster in this JVM, so static state is the simplest honest channel (never used on a real
 * cluster).
 */
final class BenchRecorder {
  static final AtomicLong generated = new AtomicLong();
  static final AtomicLong phase2Start = new AtomicLong();
  static final AtomicLong emitted = new AtomicLong();
  static final FreshnessHistogram freshness = new FreshnessHistogram();
  static final Map<Long, long[]> sampledPools = new ConcurrentHashMap<>();
  static volatile Set<Long> sample = Set.of();

  private BenchRecorder() {}

  static void reset(Set<Long> sampleUsers) {
    generated.set(0);
    phase2Start.set(0);
    emitted.set(0);
    freshness.clear();
    sampledPools.clear();
    sample = sampleUsers;
  }

  static void record(PoolUpdate p, long now) {
    emitted.incrementAndGet();
    long start = phase2Start.get();
    if (start > 0 && p.sourceProducedAt() >= start) {
      freshness.record(now - p.sourceProducedAt());
    }
    if (sample.contains(p.userId())) {
      sampledPools.put(p.userId(), p.deleted() ? new long[0] : p.neighbourIds());
    }
  }

  /** Percentile of the recorded freshness in ms (q in (0, 1]); -1 when nothing was measured. */
  static long percentile(double q) {
    return freshness.percentile(q);
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
