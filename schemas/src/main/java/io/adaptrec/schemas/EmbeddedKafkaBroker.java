package io.adaptrec.schemas;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka broker (KRaft, combined broker + controller) running inside this JVM,
 * on 127.0.0.1. For the local stack and integration tests; it needs {@code kafka_2.13} on the
 * classpath (an optional dependency of this module, so declare it where you start one).
 *
 * <pre>{@code
 * try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {   // or defaults().withPort(9092).start()
 *   String bootstrap = broker.bootstrapServers();
 * }
 * }</pre>
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);

  /** The SASL mechanism of a {@link Config#withScram secured} broker's client listener. */
  public static final String SCRAM_MECHANISM = "SCRAM-SHA-256";

  /**
   * SASL/SCRAM on the client listener: {@code users} (name to password) may connect, nobody else.
   * The broker itself authenticates as {@code brokerUser} (one of them) on that listener; its
   * credential is written when the log dir is formatted, and every user's credential is set
   * (created or updated) once the broker runs, so a restart with a persisted log dir picks up
   * changed passwords.
   */
  public record Scram(String brokerUser, Map<String, String> users) {
    public Scram {
      users = Map.copyOf(users);
      if (!users.containsKey(brokerUser)) {
        throw new IllegalArgumentException("the broker user '" + brokerUser + "' must be one of the SCRAM users");
      }
      users.forEach((u, pw) -> {
        if (!u.matches("[A-Za-z0-9._-]+") || pw.isEmpty() || pw.contains("\"") || pw.contains("\\")
            || pw.contains(",") || pw.contains("]")) {
          throw new IllegalArgumentException("SCRAM user names are [A-Za-z0-9._-]+ and passwords non-empty without \" \\ , ]; got user '" + u + "'");
        }
      });
    }

    /** The client settings (Kafka's own names) that log {@code user} in to such a broker. */
    public Map<String, String> clientSettings(String user) {
      String password = users.get(user);
      if (password == null) {
        throw new IllegalArgumentException("no SCRAM user '" + user + "'; users: " + new java.util.TreeSet<>(users.keySet()));
      }
      return clientSettings(user, password);
    }

    /** SASL_PLAINTEXT + SCRAM-SHA-256 settings for {@code user} / {@code password}. */
    public static Map<String, String> clientSettings(String user, String password) {
      return Map.of(
          "security.protocol", "SASL_PLAINTEXT",
          "sasl.mechanism", SCRAM_MECHANISM,
          "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
              + user + "\" password=\"" + password + "\";");
    }
  }

  /**
   * @param port client listener port; 0 picks a free one
   * @param logDir where the log segments go; null uses a temporary directory deleted on close
   * @param overrides extra broker properties (e.g. {@code log.retention.ms}); they win over the defaults
   * @param scram null: a PLAINTEXT client listener; else SASL/SCRAM users only
   */
  public record Config(int port, Path logDir, Map<String, String> overrides, Scram scram) {
    public Config {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("broker port must be 0 (free port) or 1-65535, got " + port);
      }
      overrides = Map.copyOf(overrides);
    }

    public Config withPort(int newPort) {
      return new Config(newPort, logDir, overrides, scram);
    }

    /** Keeps the data in {@code dir} across restarts (formatted on first use). */
    public Config withLogDir(Path dir) {
      return new Config(port, dir, overrides, scram);
    }

    public Config withOverride(String key, String value) {
      Map<String, String> m = new HashMap<>(overrides);
      m.put(key, value);
      return new Config(port, logDir, m, scram);
    }

    /** Only these SCRAM users may connect (null: no authentication). */
    public Config withScram(Scram users) {
      return new Config(port, logDir, overrides, users);
    }

    public EmbeddedKafkaBroker start() {
      return EmbeddedKafkaBroker.start(this);
    }
  }

  private final KafkaRaftServer server;
  private final String bootstrapServers;
  private final Path logDir;
  private final boolean deleteOnClose;
  private boolean closed;

  private EmbeddedKafkaBroker(KafkaRaftServer server, String bootstrapServers, Path logDir, boolean deleteOnClose) {
    this.server = server;
    this.bootstrapServers = bootstrapServers;
    this.logDir = logDir;
    this.deleteOnClose = deleteOnClose;
  }

  /** Free port, temporary log dir, no overrides. */
  public static Config defaults() {
    return new Config(0, null, Map.of(), null);
  }

  /** A broker with the {@link #defaults()}. */
  public static EmbeddedKafkaBroker start() {
    return start(defaults());
  }

  /** Formats the log dir if new, starts the broker and returns once it serves clients (3-5 s cold). */
  public static EmbeddedKafkaBroker start(Config config) {
    long t0 = System.nanoTime();
    boolean temporary = config.logDir() == null;
    Path dir;
    try {
      dir = temporary ? Files.createTempDirectory("adaptrec-kafka-") : Files.createDirectories(config.logDir());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create broker log dir " + config.logDir(), e);
    }
    int port = config.port() == 0 ? freePort() : config.port();
    int controllerPort = freePort();
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", "1");
    p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    String client = config.scram() == null ? "PLAINTEXT" : "SASL_PLAINTEXT";
    p.put("listeners", client + "://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.put("advertised.listeners", client + "://127.0.0.1:" + port);
    p.put("controller.listener.names", "CONTROLLER");
    p.put("inter.broker.listener.name", client);
    p.put("listener.security.protocol.map", "CONTROLLER:PLAINTEXT," + client + ":" + client);
    if (config.scram() != null) {
      String jaas = config.scram().clientSettings(config.scram().brokerUser()).get("sasl.jaas.config");
      p.put("sasl.enabled.mechanisms", SCRAM_MECHANISM);
      p.put("sasl.mechanism.inter.broker.protocol", SCRAM_MECHANISM);
      p.put("listener.name.sasl_plaintext." + SCRAM_MECHANISM.toLowerCase(java.util.Locale.ROOT) + ".sasl.jaas.config", jaas);
    }
    p.put("log.dirs", dir.toString());
    p.put("num.partitions", "1");
    // a single node: every internal topic must accept replication factor 1
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "3");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("transaction.state.log.num.partitions", "3");
    p.put("share.coordinator.state.topic.replication.factor", "1");
    p.put("share.coordinator.state.topic.min.isr", "1");
    // tests and the local stack want consumers assigned at once, not after the 3 s default
    p.put("group.initial.rebalance.delay.ms", "0");
    p.put("auto.create.topics.enable", "true");
    p.putAll(config.overrides());
    KafkaConfig kafkaConfig = KafkaConfig.fromProps(p, false);
    try {
      if (!Files.exists(dir.resolve("meta.properties"))) {
        Formatter formatter = new Formatter();
        if (config.scram() != null) {
          String broker = config.scram().brokerUser();
          formatter.setScramArguments(List.of(SCRAM_MECHANISM + "=[name=" + broker + ",password=" + config.scram().users().get(broker) + "]"));
        }
        formatter
            .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
            .setNodeId(1)
            .setClusterId(Uuid.randomUuid().toString())
            .setControllerListenerName("CONTROLLER")
            .setMetadataLogDirectory(kafkaConfig.metadataLogDir())
            .setHasDynamicQuorum(false)
            .setDirectories(List.of(dir.toString()))
            .run();
      }
    } catch (Exception e) {
      deleteQuietly(temporary ? dir : null);
      throw new IllegalStateException("Cannot format Kafka log dir " + dir + ": " + e.getMessage(), e);
    }
    KafkaRaftServer server = new KafkaRaftServer(kafkaConfig, Time.SYSTEM);
    try {
      server.startup();
    } catch (RuntimeException e) {
      try {
        server.shutdown();
      } catch (RuntimeException ignored) {
        // the start failure is the error worth reporting
      }
      deleteQuietly(temporary ? dir : null);
      throw new IllegalStateException("Embedded Kafka broker failed to start on 127.0.0.1:" + port + ": "
          + e.getMessage(), e);
    }
    String bootstrap = "127.0.0.1:" + port;
    if (config.scram() != null) {
      try {
        setScramUsers(bootstrap, config.scram());
      } catch (RuntimeException e) {
        server.shutdown();
        server.awaitShutdown();
        deleteQuietly(temporary ? dir : null);
        throw e;
      }
    }
    LOG.info("Embedded Kafka broker at {} (log dir {}) started in {} ms", bootstrap, dir,
        (System.nanoTime() - t0) / 1_000_000);
    return new EmbeddedKafkaBroker(server, bootstrap, dir, temporary);
  }

  /** Creates or updates every user's SCRAM credential, logged in as the broker user. */
  private static void setScramUsers(String bootstrap, Scram scram) {
    Map<String, Object> admin = new HashMap<>(scram.clientSettings(scram.brokerUser()));
    admin.put("bootstrap.servers", bootstrap);
    List<org.apache.kafka.clients.admin.UserScramCredentialAlteration> changes = new java.util.ArrayList<>();
    scram.users().forEach((user, password) -> changes.add(new org.apache.kafka.clients.admin.UserScramCredentialUpsertion(
        user, new org.apache.kafka.clients.admin.ScramCredentialInfo(org.apache.kafka.clients.admin.ScramMechanism.SCRAM_SHA_256, 8192),
        password)));
    try (org.apache.kafka.clients.admin.Admin a = org.apache.kafka.clients.admin.Admin.create(admin)) {
      a.alterUserScramCredentials(changes).all().get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("Cannot set the SCRAM users " + new java.util.TreeSet<>(scram.users().keySet())
          + " on the embedded broker at " + bootstrap + ": " + e.getMessage(), e);
    }
  }

  /** {@code host:port} for {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  public Path logDir() {
    return logDir;
  }

  /** Stops the broker and deletes a temporary log dir; later calls do nothing. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      server.shutdown();
      server.awaitShutdown();
    } finally {
      if (deleteOnClose) {
        deleteQuietly(logDir);
      }
    }
  }

  /**
   * Binding port 0 and releasing it is racy in theory (another process may grab it before the
   * broker binds); on a developer machine or CI runner that window has not bitten, and Kafka
   * offers no "bind 0 and tell me" for KRaft controller listeners.
   */
  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("No free port on 127.0.0.1", e);
    }
  }

  private static void deleteQuietly(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      LOG.warn("Could not delete {}: {}", dir, e.getMessage());
    }
  }
}
