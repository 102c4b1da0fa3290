package io.adaptrec.infra;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.adaptrec.flink.PoolsConfig;
import io.adaptrec.flink.SimilarUserPoolsJob;
import io.adaptrec.schemas.Topics;
import io.adaptrec.streams.UserStateConfig;
import io.adaptrec.worker.serving.ServingConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;

/**
 * deploy/docker-compose.yml and the role configs it mounts, checked against the roles themselves:
 * every config loads through the role's own validating loader (an unknown or out-of-range key
 * fails here), every command line parses with the CLI that runs it, every image is one the build
 * makes, and ports, addresses, topic prefix and job name agree across services, configs and the
 * roles' defaults. compose-test.sh then brings the same file up for real.
 */
class DeployConfigTest {
  static final Path DEPLOY = Path.of("deploy");
  static final Path CONFIG = DEPLOY.resolve("config");
  /** The images `mvn -Pimages` builds (modules that set image.name). */
  static final Set<String> BUILT = Set.of("streams", "worker", "infra", "kafka-broker", "flink-cluster");
  static final Set<String> ONE_SHOT = Set.of("topics", "pools-submit");
  static JsonNode services;

  @BeforeAll
  static void read() throws Exception {
    // SnakeYAML resolves anchors, aliases and merge keys (<<: *anchor) the way compose does
    Object yaml = new Yaml().load(Files.readString(DEPLOY.resolve("docker-compose.yml")));
    services = new ObjectMapper().valueToTree(yaml).get("services");
  }

  private static List<String> names() {
    List<String> n = new ArrayList<>();
    services.fieldNames().forEachRemaining(n::add);
    return n;
  }

  private static List<String> command(String service) {
    List<String> c = new ArrayList<>();
    services.get(service).get("command").forEach(x -> c.add(x.asText()));
    return c;
  }

  private static String env(String service, String key) {
    JsonNode v = services.get(service).path("environment").get(key);
    return v == null ? null : v.asText();
  }

  /** -Dkey=value system properties in a service's JAVA_TOOL_OPTIONS. */
  private static Map<String, String> systemProperties(String service) {
    Map<String, String> m = new HashMap<>();
    Matcher d = Pattern.compile("-D([^=\\s]+)=(\\S+)").matcher(String.valueOf(env(service, "JAVA_TOOL_OPTIONS")));
    while (d.find()) {
      m.put(d.group(1), d.group(2));
    }
    return m;
  }

  /** The port a service's health check probes (curl URL or bash /dev/tcp). */
  private static int healthPort(String service) {
    String test = String.join(" ", iterable(services.get(service).get("healthcheck").get("test")));
    Matcher m = Pattern.compile("127\\.0\\.0\\.1[:/](\\d+)").matcher(test);
    if (m.find()) {
      return Integer.parseInt(m.group(1));
    }
    return Integer.parseInt(env(service, "BROKER_PORT"));
  }

  private static List<String> iterable(JsonNode array) {
    List<String> l = new ArrayList<>();
    array.forEach(x -> l.add(x.asText()));
    return l;
  }

  private static List<String> brokers() {
    return names().stream().filter(n -> services.get(n).get("image").asText().startsWith("adaptrec/kafka-broker:")).toList();
  }

  private static String bootstrap() {
    return String.join(",", brokers().stream().map(b -> env(b, "KAFKA_ADVERTISED_LISTENERS").replace("PLAINTEXT://", "")).toList());
  }

  @Test
  void everyServiceRunsABuiltImageOnTheHostNetworkWithAHealthCheckOrAsAOneShotStep() {
    for (String s : names()) {
      JsonNode svc = services.get(s);
      String image = svc.get("image").asText();
      assertThat(image).as(s).matches("adaptrec/[a-z-]+:" + Pattern.quote(VersionInfo.projectVersion()));
      assertThat(BUILT).as(s).contains(image.substring("adaptrec/".length(), image.indexOf(':')));
      assertThat(svc.get("network_mode").asText()).as(s).isEqualTo("host");
      assertThat(svc.has("ports")).as(s + ": host networking publishes nothing").isFalse();
      if (ONE_SHOT.contains(s)) {
        assertThat(svc.get("restart").asText()).as(s).isEqualTo("on-failure");
      } else {
        assertThat(svc.has("healthcheck")).as(s + " has a health check").isTrue();
      }
    }
  }

  @Test
  void threeBrokersReplicateEverythingThreeTimesAndAcknowledgeWithTwo() {
    List<String> brokers = brokers();
    assertThat(brokers).hasSize(3);
    Set<String> ids = new HashSet<>();
    for (String b : brokers) {
      ids.add(env(b, "KAFKA_NODE_ID"));
      assertThat(env(b, "KAFKA_DEFAULT_REPLICATION_FACTOR")).isEqualTo("3");
      assertThat(env(b, "KAFKA_MIN_INSYNC_REPLICAS")).isEqualTo("2");
      assertThat(env(b, "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR")).isEqualTo("2");
      assertThat(env(b, "KAFKA_LISTENERS")).contains(env(b, "KAFKA_ADVERTISED_LISTENERS"));
      assertThat(env(b, "KAFKA_LISTENERS")).contains("127.0.0.1:" + env(b, "BROKER_PORT"));
      assertThat(env(b, "CLUSTER_ID")).isEqualTo(env(brokers.get(0), "CLUSTER_ID"));
      // every voter's controller listener is some broker's CONTROLLER listener
      for (String voter : env(b, "KAFKA_CONTROLLER_QUORUM_VOTERS").split(",")) {
        String address = voter.substring(voter.indexOf('@') + 1);
        assertThat(brokers.stream().anyMatch(o -> env(o, "KAFKA_LISTENERS").contains("CONTROLLER://" + address))).as(voter).isTrue();
      }
    }
    assertThat(ids).hasSize(3);
    List<String> topics = command("topics");
    CommandLine cli = AdaptrecCli.build();
    CommandLine.ParseResult r = cli.parseArgs(topics.toArray(String[]::new));
    TopicsCommand t = (TopicsCommand) r.subcommand().commandSpec().userObject();
    assertThat(t.replicationFactor).isEqualTo(3);
    assertThat(t.bootstrap).isEqualTo(bootstrap());
    assertThat(t.topicPrefix).isEqualTo(Topics.DEFAULT_PREFIX);
  }

  @Test
  void streamsInstancesLoadTheirConfigAndEachProbesItsOwnPort() {
    List<String> streams = names().stream().filter(n -> n.startsWith("streams-")).toList();
    assertThat(streams).hasSize(2);
    Set<Integer> ports = new TreeSet<>();
    for (String s : streams) {
      assertThat(command(s)).containsExactly("/etc/adaptrec/streams.properties");
      Map<String, String> sys = systemProperties(s);
      Properties saved = (Properties) System.getProperties().clone();
      try {
        sys.forEach(System::setProperty);   // UserStateConfig.load lets system properties override, as in the container
        UserStateConfig c = UserStateConfig.load(CONFIG.resolve("streams.properties"));
        assertThat(c.bootstrapServers()).isEqualTo(bootstrap());
        assertThat(c.schemaRegistryUrl()).isEqualTo("http://127.0.0.1:" + registryPort());
        assertThat(c.topicPrefix()).isEqualTo(Topics.DEFAULT_PREFIX);
        assertThat(c.httpHost()).isEqualTo("127.0.0.1");
        assertThat(c.httpPort()).isEqualTo(healthPort(s));
        ports.add(c.httpPort());
        assertThat(services.get(s).get("healthcheck").get("test").toString()).contains("/health/live");
      } finally {
        System.setProperties(saved);
      }
    }
    assertThat(ports).hasSize(2);
  }

  @Test
  void thePoolsJobIsSubmittedToTheClusterWithAConfigTheJobManagerSees() throws Exception {
    PoolsConfig c = PoolsConfig.load(CONFIG.resolve("similar-user-pools.properties"));
    assertThat(c.bootstrapServers()).isEqualTo(bootstrap());
    assertThat(c.schemaRegistryUrl()).isEqualTo("http://127.0.0.1:" + registryPort());
    assertThat(c.checkpointDir()).startsWith("file:///var/lib/adaptrec/flink-checkpoints");
    // the checkpoint volume is mounted on the JobManager and the TaskManager alike
    for (String flink : List.of("jobmanager", "taskmanager")) {
      assertThat(iterable(services.get(flink).get("volumes"))).as(flink).contains("flink-checkpoints:/var/lib/adaptrec/flink-checkpoints");
    }
    CommandLine.ParseResult r = AdaptrecCli.build().parseArgs(command("pools-submit").toArray(String[]::new));
    FlinkSubmitCommand submit = (FlinkSubmitCommand) r.subcommand().commandSpec().userObject();
    assertThat(submit.entryClass).isEqualTo(SimilarUserPoolsJob.class.getName());
    assertThat(submit.jobName).isEqualTo(SimilarUserPoolsJob.JOB_NAME);
    assertThat(submit.jar.toString()).isEqualTo("/opt/adaptrec/flink/flink-jobs-job.jar");   // infra's image carries it (Jib extraDirectories)
    assertThat(Files.readString(Path.of("pom.xml"))).contains("<into>/opt/adaptrec/flink</into>").contains("<includes>flink-jobs-job.jar</includes>");
    assertThat(submit.programArgs).containsExactly("/etc/adaptrec/similar-user-pools.properties");
    assertThat(iterable(services.get("jobmanager").get("volumes"))).contains("./config:/etc/adaptrec:ro");
    String restPort = env("jobmanager", "FLINK_PROPERTIES").replaceAll("(?s).*rest\\.port:\\s*(\\d+).*", "$1");
    assertThat(submit.rest).isEqualTo("http://127.0.0.1:" + restPort);
    assertThat(healthPort("jobmanager")).isEqualTo(Integer.parseInt(restPort));
  }

  @Test
  void modelRolesLoadTheSharedConfigWithTheirOwnOverrides() {
    Set<Integer> ports = new TreeSet<>();
    Set<String> workerIds = new TreeSet<>();
    Map<String, String> subcommands = Map.of("worker-1", "serve", "worker-2", "serve", "trainer", "refresh", "controller", "control");
    subcommands.forEach((service, sub) -> {
      List<String> cmd = command(service);
      assertThat(cmd.get(0)).as(service).isEqualTo(sub);
      assertThat(cmd.get(1)).isEqualTo("/etc/adaptrec/worker.properties");
      Map<String, String> set = new HashMap<>();
      for (int i = 2; i < cmd.size(); i += 2) {
        assertThat(cmd.get(i)).isEqualTo("--set");
        String[] kv = cmd.get(i + 1).split("=", 2);
        set.put(kv[0], kv[1]);
      }
      ServingConfig c = ServingConfig.load(CONFIG.resolve("worker.properties"), set);
      assertThat(c.httpPort()).as(service).isEqualTo(healthPort(service));
      assertThat(c.httpHost()).isEqualTo("127.0.0.1");
      ports.add(c.httpPort());
      if (sub.equals("serve")) {
        workerIds.add(c.instanceId());
        assertThat(services.get(service).get("healthcheck").get("test").toString()).contains("/health/ready");
      }
      List<String> volumes = iterable(services.get(service).get("volumes"));
      assertThat(volumes).anyMatch(v -> v.endsWith(":" + c.modelDir() + ":ro"));
      assertThat(volumes).contains("adapters:" + c.rollout().adaptersDir());
    });
    assertThat(ports).hasSize(4);
    assertThat(workerIds).hasSize(2);
  }

  @Test
  void noTwoServicesShareAPort() {
    List<Integer> ports = new ArrayList<>();
    for (String s : names()) {
      if (services.get(s).has("healthcheck") && !s.equals("taskmanager")) {   // the TaskManager is checked through the JobManager
        ports.add(healthPort(s));
      }
    }
    assertThat(new HashSet<>(ports)).hasSameSizeAs(ports);
  }

  private static int registryPort() {
    List<String> cmd = command("registry");
    return Integer.parseInt(cmd.get(cmd.indexOf("--port") + 1));
  }
}
