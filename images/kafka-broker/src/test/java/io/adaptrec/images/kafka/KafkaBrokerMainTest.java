package io.adaptrec.images.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class KafkaBrokerMainTest {

  @Test
  void environmentNamesBecomeBrokerProperties() {
    assertThat(KafkaBrokerMain.propertyName("NODE_ID")).isEqualTo("node.id");
    assertThat(KafkaBrokerMain.propertyName("LISTENER_NAME_CONTROLLER__X")).isEqualTo("listener.name.controller_x");
    assertThat(KafkaBrokerMain.propertyName("SOME___DASHED_KEY")).isEqualTo("some-dashed.key");
  }

  @Test
  void onlyKafkaVariablesCountAndJvmOnesAreLeftOut() {
    Properties p = KafkaBrokerMain.properties(Map.of(
        "KAFKA_NODE_ID", "2", "KAFKA_MIN_INSYNC_REPLICAS", "2", "KAFKA_HEAP_OPTS", "-Xmx1g",
        "PATH", "/bin", "CLUSTER_ID", "abc"));
    assertThat(p).containsEntry("node.id", "2").containsEntry("min.insync.replicas", "2")
        .containsEntry("log.dirs", "/var/lib/kafka/data")
        .doesNotContainKey("heap.opts").doesNotContainKey("path").doesNotContainKey("cluster.id");
  }

  @Test
  void anExplicitLogDirWinsOverTheDefault() {
    assertThat(KafkaBrokerMain.properties(Map.of("KAFKA_LOG_DIRS", "/data/a")).getProperty("log.dirs"))
        .isEqualTo("/data/a");
  }
}
