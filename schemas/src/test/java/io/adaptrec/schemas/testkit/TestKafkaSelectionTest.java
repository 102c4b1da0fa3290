package io.adaptrec.schemas.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.schemas.testkit.TestKafka.Mode;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** Which broker TestKafka picks; the JVM-wide broker itself is exercised by the *IT tests. */
class TestKafkaSelectionTest {
  private static final BooleanSupplier MUST_NOT_ASK = () -> {
    throw new AssertionError("Docker must not be probed");
  };

  @Test
  void anAbsentImageIsNeverPulled() {
    // no daemon here, or a daemon without this image: either way, embedded, and nothing pulled
    assertThat(TestKafka.imagePresent("adaptrec/no-such-image:0")).isFalse();
  }

  @Test
  void externalBootstrapWinsAndSkipsTheDockerProbe() {
    assertThat(TestKafka.choose("broker:9092", false, MUST_NOT_ASK)).isEqualTo(Mode.EXTERNAL);
    assertThat(TestKafka.choose("broker:9092", true, MUST_NOT_ASK)).isEqualTo(Mode.EXTERNAL);
  }

  @Test
  void aDaemonWithTheImageMeansContainerUnlessEmbeddedIsForced() {
    assertThat(TestKafka.choose(null, false, () -> true)).isEqualTo(Mode.CONTAINER);
    assertThat(TestKafka.choose("  ", false, () -> true)).isEqualTo(Mode.CONTAINER);
    assertThat(TestKafka.choose(null, true, MUST_NOT_ASK)).isEqualTo(Mode.EMBEDDED);
  }

  @Test
  void noDaemonOrNoImageMeansEmbedded() {
    assertThat(TestKafka.choose(null, false, () -> false)).isEqualTo(Mode.EMBEDDED);
  }
}
