package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PacerTest {
  /** A clock that only moves when the pacer sleeps (or the test advances it). */
  static final class FakeClock implements Pacer.Clock {
    long now = 1_000_000_000L;
    final List<Long> sleeps = new ArrayList<>();

    @Override
    public long nanoTime() {
      return now;
    }

    @Override
    public void sleepNanos(long nanos) {
      sleeps.add(nanos);
      now += nanos;
    }
  }

  @Test
  void gapsAreDividedBySpeedupAndScheduledFromTheStart() throws Exception {
    FakeClock clock = new FakeClock();
    Pacer pacer = new Pacer(10, clock);
    pacer.awaitDue(50_000);          // origin
    pacer.awaitDue(51_000);          // due 100 ms after the origin
    pacer.awaitDue(51_000);          // same event time: no wait
    clock.now += 30_000_000;         // sending took 30 ms
    pacer.awaitDue(55_000);          // due at 500 ms: 500 - 100 - 30 = 370 ms left
    assertThat(clock.sleeps).containsExactly(100_000_000L, 370_000_000L);
  }

  @Test
  void lateEventsAreSentAtOnceWithoutDrift() throws Exception {
    FakeClock clock = new FakeClock();
    Pacer pacer = new Pacer(1000, clock);
    pacer.awaitDue(0);
    clock.now += 2_000_000_000L;     // a 2 s stall
    pacer.awaitDue(1_000);           // was due at 1 ms: behind, no sleep
    pacer.awaitDue(3_000_000);       // due at 3 s after the origin: 1 s left, not 3 s
    assertThat(clock.sleeps).containsExactly(1_000_000_000L);
  }

  @Test
  void zeroMeansAsFastAsPossible() throws Exception {
    FakeClock clock = new FakeClock();
    Pacer pacer = new Pacer(0, clock);
    pacer.awaitDue(0);
    pacer.awaitDue(86_400_000);
    assertThat(pacer.paced()).isFalse();
    assertThat(clock.sleeps).isEmpty();
  }

  @Test
  void negativeOrNonFiniteSpeedupIsRejected() {
    assertThatThrownBy(() -> new Pacer(-1, new FakeClock())).hasMessageContaining("--speedup");
    assertThatThrownBy(() -> new Pacer(Double.NaN, new FakeClock())).hasMessageContaining("--speedup");
    assertThatThrownBy(() -> new Pacer(Double.POSITIVE_INFINITY, new FakeClock())).hasMessageContaining("--speedup");
  }
}
