package io.adaptrec.schemas.testkit;

import io.adaptrec.schemas.EmbeddedKafkaBroker;
import io.adaptrec.schemas.Topic;
import io.adaptrec.schemas.TopicAdmin;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * One Kafka broker per test JVM, shared by every integration test; tests isolate themselves with
 * unique topic names (see {@link TestRegistry#freshTopics()}), not with brokers. Chosen once:
 *
 * <ol>
 *   <li>external: {@code -Dkafka.bootstrap=host:port} or {@code KAFKA_BOOTSTRAP} (e.g. a broker
 *       the CI job started);
 *   <li>container: the project's broker image ({@code -Dkafka.image}, default {@value #DEFAULT_IMAGE},
 *       built by {@code infra/deploy/images.sh}) through Testcontainers, when a Docker engine
 *       answers <em>and</em> that image is in it (never pulled: no registry is reachable here), and
 *       {@code -Dkafka.forceEmbedded} is not set. Host networking: the broker listens on a free
 *       port of 127.0.0.1 (no bridge, no port mapping); the JVM needs
 *       {@code TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1} and {@code TESTCONTAINERS_RYUK_DISABLED=true},
 *       which the build's failsafe configuration sets;
 *   <li>embedded: {@link EmbeddedKafkaBroker} in this JVM otherwise.
 * </ol>
 *
 * <p>The choice is logged and appended to {@code <java.io.tmpdir>/test-kafka-mode.txt} (the build
 * points java.io.tmpdir at the module's {@code target/}), so a CI run can report which path it took.
 * Modules using it declare test dependencies on this test-jar, {@code kafka_2.13} and
 * {@code testcontainers-kafka}.
 */
public final class TestKafka {
  public static final String DEFAULT_IMAGE = "adaptrec/kafka-broker:0.1.0-SNAPSHOT";
  private static final Logger LOG = LoggerFactory.getLogger(TestKafka.class);

  /** Where the broker of this JVM comes from. */
  public enum Mode { EXTERNAL, CONTAINER, EMBEDDED }

  private static Mode mode;
  private static String bootstrap;

  private TestKafka() {}

  /** {@code bootstrap.servers} of this JVM's broker, starting it on first call. */
  public static synchronized String bootstrapServers() {
    if (bootstrap != null) {
      return bootstrap;
    }
    long t0 = System.nanoTime();
    String external = System.getProperty("kafka.bootstrap", System.getenv("KAFKA_BOOTSTRAP"));
    String image = System.getProperty("kafka.image", DEFAULT_IMAGE);
    mode = choose(external, Boolean.getBoolean("kafka.forceEmbedded"), () -> imagePresent(image));
    switch (mode) {
      case EXTERNAL -> bootstrap = external.trim();
      case CONTAINER -> bootstrap = startContainer(image);
      case EMBEDDED -> {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
        Runtime.getRuntime().addShutdownHook(new Thread(broker::close, "test-kafka-broker-stop"));
        bootstrap = broker.bootstrapServers();
      }
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    LOG.info("TestKafka: {} broker at {} ready in {} ms", mode, bootstrap, ms);
    record(mode + " " + bootstrap + (mode == Mode.CONTAINER ? " " + image : "") + " ready in " + ms + " ms\n");
    return bootstrap;
  }

  /** Whether a Docker engine answers and has {@code image} locally (asked only when a container is possible). */
  static boolean imagePresent(String image) {
    try {
      if (!DockerClientFactory.instance().isDockerAvailable()) {
        return false;
      }
      DockerClientFactory.instance().client().inspectImageCmd(image).exec();
      return true;
    } catch (RuntimeException e) {
      LOG.info("TestKafka: no container broker ({}): {}", image, e.getMessage());
      return false;
    }
  }

  /** The broker image as a single KRaft node with host networking on free 127.0.0.1 ports. */
  private static String startContainer(String image) {
    int port = freePort();
    int controller = freePort();
    GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(image))
        .withNetworkMode("host")
        .withEnv(Map.ofEntries(
            Map.entry("CLUSTER_ID", Uuid.randomUuid().toString()),
            Map.entry("KAFKA_NODE_ID", "1"),
            Map.entry("KAFKA_PROCESS_ROLES", "broker,controller"),
            Map.entry("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@127.0.0.1:" + controller),
            Map.entry("KAFKA_LISTENERS", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller),
            Map.entry("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://127.0.0.1:" + port),
            Map.entry("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER"),
            Map.entry("KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT"),
            Map.entry("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"),
            Map.entry("KAFKA_LOG_DIRS", "/tmp/kafka-" + UUID.randomUUID()),
            // one node: internal topics with replication factor 1, as the embedded broker
            Map.entry("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1"),
            Map.entry("KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS", "3"),
            Map.entry("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1"),
            Map.entry("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1"),
            Map.entry("KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS", "3"),
            Map.entry("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", "1"),
            Map.entry("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "1"),
            Map.entry("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0"),
            Map.entry("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "true"),
            Map.entry("JAVA_TOOL_OPTIONS", "-Xmx768m")))
        .waitingFor(Wait.forLogMessage(".*kafka-broker: node 1 started.*", 1).withStartupTimeout(Duration.ofMinutes(2)));
    c.start();
    Runtime.getRuntime().addShutdownHook(new Thread(c::stop, "test-kafka-container-stop"));
    return "127.0.0.1:" + port;
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void record(String line) {
    try {
      Files.writeString(Path.of(System.getProperty("java.io.tmpdir"), "test-kafka-mode.txt"), line,
          StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      LOG.warn("TestKafka: cannot record the broker mode: {}", e.toString());
    }
  }

  /**
   * The selection rule; Docker (is a daemon there, with the image?) is only asked when no external
   * broker is given and embedded is not forced.
   */
  static Mode choose(String external, boolean forceEmbedded, BooleanSupplier dockerAvailable) {
    if (external != null && !external.isBlank()) {
      return Mode.EXTERNAL;
    }
    if (!forceEmbedded && dockerAvailable.getAsBoolean()) {
      return Mode.CONTAINER;
    }
    return Mode.EMBEDDED;
  }

  /** How this JVM's broker was provided (starts it if needed). */
  public static synchronized Mode mode() {
    bootstrapServers();
    return mode;
  }

  /** A new admin client for this JVM's broker; close it. */
  public static Admin admin() {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()));
  }

  /** Creates {@code topics} (replication factor 1) if missing. */
  public static void createTopics(Collection<Topic<?, ?>> topics) {
    try (Admin admin = admin()) {
      TopicAdmin.ensureTopics(admin, topics, (short) 1, Duration.ofSeconds(30));
    }
  }
}
