package io.adaptrec.schemas.testkit;

import io.adaptrec.schemas.EmbeddedKafkaBroker;
import io.adaptrec.schemas.Topic;
import io.adaptrec.schemas.TopicAdmin;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * One Kafka broker per test JVM, shared by every integration test; tests isolate themselves with
 * unique topic names (see {@link TestRegistry#freshTopics()}), not with brokers. Chosen once:
 *
 * <ol>
 *   <li>external: {@code -Dkafka.bootstrap=host:port} or {@code KAFKA_BOOTSTRAP} (e.g. a broker
 *       the CI job started);
 *   <li>container: Testcontainers' {@code KafkaContainer} (image {@code -Dkafka.image}, default
 *       {@value #DEFAULT_IMAGE}) when a Docker engine answers and {@code -Dkafka.forceEmbedded}
 *       is not set;
 *   <li>embedded: {@link EmbeddedKafkaBroker} in this JVM otherwise.
 * </ol>
 *
 * <p>Modules using it declare test dependencies on this test-jar, {@code kafka_2.13} and
 * {@code testcontainers-kafka}.
 */
public final class TestKafka {
  public static final String DEFAULT_IMAGE = "apache/kafka-native:4.2.0";
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
    mode = choose(external, Boolean.getBoolean("kafka.forceEmbedded"),
        () -> DockerClientFactory.instance().isDockerAvailable());
    switch (mode) {
      case EXTERNAL -> bootstrap = external.trim();
      case CONTAINER -> {
        KafkaContainer container = new KafkaContainer(System.getProperty("kafka.image", DEFAULT_IMAGE));
        container.start();
        Runtime.getRuntime().addShutdownHook(new Thread(container::stop, "test-kafka-container-stop"));
        bootstrap = container.getBootstrapServers();
      }
      case EMBEDDED -> {
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
        Runtime.getRuntime().addShutdownHook(new Thread(broker::close, "test-kafka-broker-stop"));
        bootstrap = broker.bootstrapServers();
      }
    }
    LOG.info("TestKafka: {} broker at {} ready in {} ms", mode, bootstrap, (System.nanoTime() - t0) / 1_000_000);
    return bootstrap;
  }

  /** The selection rule; Docker is only asked when no external broker is given or forced off. */
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
