package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

class StackConfigTest {

  @Test
  void defaultsRunEveryRoleOnWellKnownPorts() {
    StackConfig c = StackConfig.defaults();
    assertThat(c.roles()).containsExactly(Role.STREAMS, Role.POOLS, Role.WORKER, Role.GATEWAY, Role.REFRESH, Role.CONTROL, Role.DASHBOARD);
    assertThat(c.modelDir()).as("no model: worker, gateway, trainer and controller are skipped").isNull();
    assertThat(c.kafkaPort()).isNull();
    assertThat(c.flinkParallelism()).isEqualTo(2);
    assertThat(c.dataDir()).isNull();
    assertThat(c.withFreePorts().kafkaPort()).isZero();
    assertThat(c.dashboardPort()).as("8070 if free").isNull();
    assertThat(c.withFreePorts().dashboardPort()).isZero();
    assertThat(c.withDashboardPort(8123).dashboardPort()).isEqualTo(8123);
    assertThat(Role.parse("dashboard")).isEqualTo(Role.DASHBOARD);
  }

  @Test
  void invalidValuesNameTheirOption() {
    StackConfig d = StackConfig.defaults();
    assertThatThrownBy(() -> d.withPorts(70000, null, null, null)).hasMessageContaining("--kafka-port");
    assertThatThrownBy(() -> d.withDashboardPort(-1)).hasMessageContaining("--dashboard-port");
    assertThatThrownBy(() -> d.withFlink(65, 1000, "hashmap")).hasMessageContaining("--flink-parallelism must be 1-64, got 65");
    assertThatThrownBy(() -> d.withFlink(2, 10, "hashmap")).hasMessageContaining("--flink-checkpoint-ms");
    assertThatThrownBy(() -> d.withFlink(2, 1000, "memory")).hasMessageContaining("--flink-state-backend must be hashmap or rocksdb");
    assertThatThrownBy(() -> d.withTopicPrefix("bad prefix")).hasMessageContaining("--topic-prefix");
    assertThat(d.withRoles(EnumSet.noneOf(Role.class)).roles()).isEmpty();
    assertThatThrownBy(() -> Role.parse("trainer")).hasMessageContaining("expected one of streams, pools, worker, gateway");
  }

  @Test
  void portsPreferTheDefaultButNeverFailWithoutAnExplicitChoice() throws IOException {
    try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getByName(Ports.HOST))) {
      int port = busy.getLocalPort();
      assertThat(Ports.isFree(port)).isFalse();
      assertThat(Ports.choose("--kafka-port", null, port)).as("busy default falls back to any free port").isZero();
      assertThatThrownBy(() -> Ports.choose("--kafka-port", port, 9092))
          .hasMessageContaining("--kafka-port " + port + " is already in use on 127.0.0.1");
      assertThat(Ports.choose("--kafka-port", 0, port)).isZero();
    }
  }
}
