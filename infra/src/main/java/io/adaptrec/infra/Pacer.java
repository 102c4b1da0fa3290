package io.adaptrec.infra;

/**
 * Event-time pacing of a replay: event {@code t} is due at
 * {@code wallStart + (t - firstEventTime) / speedup}, so gaps between events shrink by the speedup
 * while their order and relative spacing are kept. Speedup 0 means "as fast as possible".
 * Scheduling against the start (not the previous event) keeps rounding errors from accumulating
 * over a long replay.
 */
final class Pacer {
  /** Time source and sleeper, replaceable in tests. */
  interface Clock {
    long nanoTime();

    void sleepNanos(long nanos) throws InterruptedException;
  }

  static final Clock SYSTEM = new Clock() {
    @Override
    public long nanoTime() {
      return System.nanoTime();
    }

    @Override
    public void sleepNanos(long nanos) throws InterruptedException {
      Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
    }
  };

  private final double speedup;
  private final Clock clock;
  private long firstEventMillis = Long.MIN_VALUE;
  private long wallStartNanos;

  /**
   * @param speedup 0 (no pacing) or a positive factor; 1 = real time, 3600 = one hour per second
   */
  Pacer(double speedup, Clock clock) {
    if (speedup < 0 || Double.isNaN(speedup) || Double.isInfinite(speedup)) {
      throw new IllegalArgumentException("--speedup must be a positive number (or 0 for as fast as possible), got " + speedup);
    }
    this.speedup = speedup;
    this.clock = clock;
  }

  boolean paced() {
    return speedup > 0;
  }

  /** Blocks until the event with this event time is due; the first call fixes the origin. */
  void awaitDue(long eventTimeMillis) throws InterruptedException {
    if (!paced()) {
      return;
    }
    if (firstEventMillis == Long.MIN_VALUE) {
      firstEventMillis = eventTimeMillis;
      wallStartNanos = clock.nanoTime();
      return;
    }
    long dueNanos = wallStartNanos + (long) ((eventTimeMillis - firstEventMillis) * 1_000_000.0 / speedup);
    long wait = dueNanos - clock.nanoTime();
    if (wait > 0) {
      clock.sleepNanos(wait);
    }
  }
}
