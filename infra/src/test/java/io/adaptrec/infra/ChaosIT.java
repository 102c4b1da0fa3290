package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chaos checks at small scale inside {@code mvn verify}: the bad-input scenario (3 % bad records
 * of every kind on interactions and requests) on the embedded stack, checked against brute force
 * exactly as `adaptrec chaos` checks the compose cluster (the process faults need that cluster: the
 * compose tier of `.ci/run` runs them).
 */
class ChaosIT {
  @TempDir
  Path tmp;

  @Test
  void badInputIsDeadLetteredAndNothingElseIsLostOrDoubled() throws Exception {
    int users = 60;
    int items = 50;
    try (LocalStack stack = LocalStack.start(ChaosStack.config(tmp, users, items))) {
      Map<String, Object> r = ChaosStack.badInputPasses(stack, stack.clientProperties(), users, items, 200, 10, 10, 0.03,
          5_000_000L);
      assertThat(ChaosStack.n(r, "dead_letter_expected")).isGreaterThan(20);
    }
  }
}
