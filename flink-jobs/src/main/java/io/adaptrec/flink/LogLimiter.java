package io.adaptrec.flink;

import java.io.Serializable;

/**
 * Decides which of many similar log lines to write: the first {@code firstN}, then at most one per
 * {@code intervalMs}, which reports how many were suppressed since. Per operator instance; not
 * thread-safe (an operator's methods run on one thread).
 */
public final class LogLimiter implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int firstN;
  private final long intervalMs;
  private long seen;
  private long suppressed;
  private long lastLoggedAt = Long.MIN_VALUE;

  public LogLimiter(int firstN, long intervalMs) {
    this.firstN = firstN;
    this.intervalMs = intervalMs;
  }

  /**
   * Counts one occurrence at {@code nowMs}; returns -1 if it must not be logged, else how many
   * occurrences were suppressed since the last logged one (to be mentioned in the line).
   */
  public long tryAcquire(long nowMs) {
    seen++;
    if (seen <= firstN || lastLoggedAt == Long.MIN_VALUE || nowMs - lastLoggedAt >= intervalMs) {
      long s = suppressed;
      suppressed = 0;
      lastLoggedAt = nowMs;
      return s;
    }
    suppressed++;
    return -1;
  }

  public long seen() {
    return seen;
  }
}
