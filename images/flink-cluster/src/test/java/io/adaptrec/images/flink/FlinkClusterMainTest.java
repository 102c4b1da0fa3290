package io.adaptrec.images.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlinkClusterMainTest {

  @Test
  void flinkPropertiesOverlayTheDefaultsAndLandInConfigYaml(@TempDir Path dir) throws Exception {
    Map<String, String> s = FlinkClusterMain.settings("""
        # comment
        jobmanager.rpc.address: 127.0.0.1
        rest.port: 8082

        taskmanager.numberOfTaskSlots: 4
        """);
    assertThat(s).containsEntry("rest.port", "8082").containsEntry("taskmanager.numberOfTaskSlots", "4")
        .containsEntry("rest.bind-address", "127.0.0.1");
    FlinkClusterMain.writeConfig(dir, s);
    Configuration conf = GlobalConfiguration.loadConfiguration(dir.toString());
    assertThat(conf.toMap()).containsEntry("rest.port", "8082").containsEntry("taskmanager.numberOfTaskSlots", "4");
  }

  @Test
  void aLineWithoutAColonIsRefused() {
    assertThatThrownBy(() -> FlinkClusterMain.settings("rest.port=8082"))
        .hasMessageContaining("not a 'key: value' line: rest.port=8082");
  }

  @Test
  void taskManagerMemoryIsDerivedFromTheProcessSizeLikeTheStartScripts(@TempDir Path dir) throws Exception {
    FlinkClusterMain.writeConfig(dir, FlinkClusterMain.settings("taskmanager.memory.process.size: 1280m"));
    List<String> args = FlinkClusterMain.taskManagerMemoryArgs(GlobalConfiguration.loadConfiguration(dir.toString()));
    assertThat(args).contains("-D").anySatisfy(a -> assertThat(a).startsWith("taskmanager.memory.task.heap.size="))
        .anySatisfy(a -> assertThat(a).startsWith("taskmanager.memory.network.max="));
    assertThat(args.size() % 2).isZero();
  }
}
