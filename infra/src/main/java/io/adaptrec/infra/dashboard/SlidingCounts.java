package io.adaptrec.infra.dashboard;

import io.adaptrec.schemas.LatencyHistogram;

/**
 * Counts (and optionally latencies) of the last {@code seconds} wall-clock seconds in one slot per
 * second, by the record's own timestamp: a rate over a sliding window in fixed memory. A record
 * older than the window (e.g. history read while catching up) is not counted; a slot is reused once
 * its second has left the window. Not thread-safe: the feed's lock guards it.
 */
final class SlidingCounts {
  private final int seconds;
  private final long[] slotSecond;
  private final long[] counts;
  private final LatencyHistogram[] latencies;

  /** @param withLatency keep a latency histogram per slot too */
  SlidingCounts(int seconds, boolean withLatency) {
    if (seconds < 1) {
      throw new IllegalArgumentException("a sliding window needs at least one second, got " + seconds);
    }
    this.seconds = seconds;
    this.slotSecond = new long[seconds];
    this.counts = new long[seconds];
    this.latencies = withLatency ? new LatencyHistogram[seconds] : null;
    java.util.Arrays.fill(slotSecond, Long.MIN_VALUE);
  }

  int seconds() {
    return seconds;
  }

  /** One event at {@code timestampMillis}, seen at {@code nowMillis}; {@code latencyMicros} &lt; 0 = none. */
  void record(long timestampMillis, long nowMillis, long latencyMicros) {
    long second = Math.floorDiv(timestampMillis, 1000);
    long now = Math.floorDiv(nowMillis, 1000);
    if (second <= now - seconds || second > now + 1) {
      return;   // outside the window (old history, or a clock far ahead)
    }
    int i = (int) Math.floorMod(second, (long) seconds);
    if (slotSecond[i] != second) {
      slotSecond[i] = second;
      counts[i] = 0;
      if (latencies != null) {
        latencies[i] = new LatencyHistogram();
      }
    }
    counts[i]++;
    if (latencies != null && latencyMicros >= 0) {
      latencies[i].record(latencyMicros);
    }
  }

  /** Events per second over the last {@code window} complete seconds before {@code nowMillis}. */
  double rate(int window, long nowMillis) {
    if (window < 1 || window > seconds - 1) {
      throw new IllegalArgumentException("rate window must be 1-" + (seconds - 1) + " s, got " + window);
    }
    long now = Math.floorDiv(nowMillis, 1000);
    long n = 0;
    for (int i = 0; i < seconds; i++) {
      if (slotSecond[i] < now && slotSecond[i] >= now - window) {
        n += counts[i];
      }
    }
    return n / (double) window;
  }

  /** Events in the whole window (the current second included). */
  long count(long nowMillis) {
    long now = Math.floorDiv(nowMillis, 1000);
    long n = 0;
    for (int i = 0; i < seconds; i++) {
      if (slotSecond[i] > now - seconds && slotSecond[i] <= now + 1) {
        n += counts[i];
      }
    }
    return n;
  }

  /** The latencies recorded in the whole window, summed into a new histogram. */
  LatencyHistogram latencies(long nowMillis) {
    LatencyHistogram sum = new LatencyHistogram();
    if (latencies == null) {
      return sum;
    }
    long now = Math.floorDiv(nowMillis, 1000);
    for (int i = 0; i < seconds; i++) {
      if (latencies[i] != null && slotSecond[i] > now - seconds && slotSecond[i] <= now + 1) {
        sum.add(latencies[i]);
      }
    }
    return sum;
  }
}
