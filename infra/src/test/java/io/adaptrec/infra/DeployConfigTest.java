package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.flink.PoolsConfig;
import io.adaptrec.streams.UserStateConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The role configs shipped with deploy/docker-compose.yml parse with the roles' own validating
 * loaders, so a renamed key fails here instead of in a container nobody can run on this machine.
 */
class DeployConfigTest {
  static final Path CONFIG = Path.of("deploy/config");

  @Test
  void streamsConfigIsValidAndPointsAtTheComposeServices() {
    UserStateConfig c = UserStateConfig.load(CONFIG.resolve("streams.properties"));
    assertThat(c.bootstrapServers()).isEqualTo("kafka:19092");
    assertThat(c.schemaRegistryUrl()).isEqualTo("http://schema-registry:8081");
    assertThat(c.httpHost()).isEqualTo("0.0.0.0");
  }

  @Test
  void poolsConfigIsValidAndPointsAtTheComposeServices() throws Exception {
    PoolsConfig c = PoolsConfig.load(CONFIG.resolve("similar-user-pools.properties"));
    assertThat(c.bootstrapServers()).isEqualTo("kafka:19092");
    assertThat(c.schemaRegistryUrl()).isEqualTo("http://schema-registry:8081");
    assertThat(c.checkpointDir()).startsWith("file:///var/lib/adaptrec/");
  }

  @Test
  void composeFileMountsTheJarsTheModulesBuild() throws Exception {
    String compose = Files.readString(Path.of("deploy/docker-compose.yml"));
    // each module's pom sets <finalName>${project.artifactId}</finalName>
    assertThat(compose).contains("../target:/opt/adaptrec/infra").contains("infra.jar")
        .contains("../../streams/target:/opt/adaptrec/streams").contains("streams.jar")
        .contains("../../flink-jobs/target/flink-jobs.jar").contains("io.adaptrec.flink.SimilarUserPoolsJob");
  }
}
