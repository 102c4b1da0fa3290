package io.adaptrec.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.adaptrec.schemas.ConfigKeys;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PoolsConfigTest {
  @Test
  void sampleFileDocumentsEveryKeyWithItsDefault() throws Exception {
    PoolsConfig fromFile = PoolsConfig.load(Path.of("config/similar-user-pools.properties"));
    assertThat(fromFile).isEqualTo(PoolsConfig.defaults());
    assertThat(fromFile.asMap().keySet()).containsExactlyElementsOf(PoolsConfig.KEYS.stream().map(ConfigKeys.Key::name).toList());
  }

  @Test
  void invalidValuesNameTheKeyAndTheRange() {
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("pool.size", "0")))
        .hasMessage("pool.size must be in [1, 1000], was 0");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("mode", "ann")))
        .hasMessageContaining("mode must be exact, lsh or ivf");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("mode", "ivf")))
        .hasMessageContaining("ivf.centroids-file");
    assertThatThrownBy(() -> PoolsConfig.from(Map.of("pool.sise", "5")))
        .hasMessageContaining("unknown config key 'pool.sise'");
  }
}
