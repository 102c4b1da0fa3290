package io.adaptrec.images.kafka;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;

/**
 * The entry point of the {@code adaptrec/kafka-broker} image: a Kafka KRaft node (broker,
 * controller or both) configured entirely by environment variables, the convention of Apache's
 * own image: {@code KAFKA_NODE_ID=1} is {@code node.id=1}; in a name, {@code _} is {@code .},
 * {@code __} is {@code _} and {@code ___} is {@code -}. {@code CLUSTER_ID} (every node the same)
 * formats an empty log directory on first start; a formatted one is reused as it is.
 *
 * <p>Only a static controller quorum ({@code KAFKA_CONTROLLER_QUORUM_VOTERS}) is supported.
 * Defaults: {@code log.dirs=/var/lib/kafka/data}. The process stops the server cleanly on
 * SIGTERM (controlled shutdown: partition leadership moves away first).
 */
public final class KafkaBrokerMain {
  static final String PREFIX = "KAFKA_";
  static final Map<String, String> DEFAULTS = Map.of("log.dirs", "/var/lib/kafka/data");

  private KafkaBrokerMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0) {
      System.err.println("kafka-broker: takes no arguments; configure it with KAFKA_* environment variables"
          + " (KAFKA_NODE_ID=1 is node.id=1) and CLUSTER_ID");
      System.exit(2);
    }
    Properties props;
    String clusterId;
    try {
      props = properties(System.getenv());
      clusterId = System.getenv("CLUSTER_ID");
      require(props, "node.id", "process.roles", "controller.quorum.voters", "listeners", "controller.listener.names");
    } catch (IllegalArgumentException e) {
      System.err.println("kafka-broker: " + e.getMessage());
      System.exit(2);
      return;
    }
    KafkaConfig config = KafkaConfig.fromProps(props, false);
    System.out.println("kafka-broker: node " + config.nodeId() + " (" + props.getProperty("process.roles")
        + "), listeners " + props.getProperty("listeners") + ", log dirs " + props.getProperty("log.dirs"));
    formatIfNew(config, props, clusterId);
    KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("kafka-broker: stopping node " + config.nodeId());
      server.shutdown();
      server.awaitShutdown();
      stopped.countDown();
    }, "kafka-broker-shutdown"));
    server.startup();
    System.out.println("kafka-broker: node " + config.nodeId() + " started");
    server.awaitShutdown();
    stopped.await();
  }

  /** Broker properties from environment variables: {@link #DEFAULTS}, then every {@code KAFKA_*} name. */
  static Properties properties(Map<String, String> env) {
    Map<String, String> out = new TreeMap<>(DEFAULTS);
    for (Map.Entry<String, String> e : env.entrySet()) {
      String name = e.getKey();
      if (name.startsWith(PREFIX) && name.length() > PREFIX.length() && !isJvmVariable(name)) {
        out.put(propertyName(name.substring(PREFIX.length())), e.getValue());
      }
    }
    Properties p = new Properties();
    p.putAll(out);
    return p;
  }

  /** {@code NODE_ID} to {@code node.id}: {@code ___} is '-', {@code __} is '_', {@code _} is '.'. */
  static String propertyName(String envSuffix) {
    return envSuffix.toLowerCase(Locale.ROOT)
        .replace("___", "\u0001").replace("__", "\u0002").replace('_', '.')
        .replace('\u0001', '-').replace('\u0002', '_');
  }

  // Kafka's scripts read these; they are not broker properties
  private static boolean isJvmVariable(String name) {
    return List.of("KAFKA_HEAP_OPTS", "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_JMX_OPTS")
        .contains(name);
  }

  private static void require(Properties p, String... keys) {
    for (String k : keys) {
      if (p.getProperty(k, "").isBlank()) {
        throw new IllegalArgumentException("missing " + k + " (set " + PREFIX
            + k.toUpperCase(Locale.ROOT).replace('.', '_') + ")");
      }
    }
  }

  private static void formatIfNew(KafkaConfig config, Properties props, String clusterId) throws Exception {
    List<String> dirs = Arrays.stream(props.getProperty("log.dirs").split(",")).map(String::trim).toList();
    boolean formatted = Files.exists(Path.of(dirs.get(0), "meta.properties"));
    if (formatted) {
      System.out.println("kafka-broker: log dir " + dirs.get(0) + " already formatted; reusing it");
      return;
    }
    if (clusterId == null || clusterId.isBlank()) {
      System.err.println("kafka-broker: " + dirs.get(0) + " is not formatted and CLUSTER_ID is not set"
          + " (one 22-character base64 id shared by every node, e.g. from kafka-storage random-uuid)");
      System.exit(2);
    }
    for (String d : dirs) {
      try {
        Files.createDirectories(Path.of(d));
      } catch (IOException e) {
        throw new IllegalStateException("cannot create log dir " + d + ": " + e.getMessage(), e);
      }
    }
    new Formatter()
        .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
        .setNodeId(config.nodeId())
        .setClusterId(clusterId)
        .setControllerListenerName(props.getProperty("controller.listener.names").split(",")[0].trim())
        .setMetadataLogDirectory(config.metadataLogDir())
        .setHasDynamicQuorum(false)
        .setDirectories(dirs)
        .run();
    System.out.println("kafka-broker: formatted " + String.join(",", dirs) + " for cluster " + clusterId);
  }
}
