package io.adaptrec.infra;

import io.adaptrec.schemas.Topics;
import java.nio.file.Path;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Typed, validated settings of the {@link LocalStack}. A null port means "the well-known default
 * (9092, 8081, 8082, 7071, 7081, 8090, 8070) if free, else any free port"; 0 means any free port; any other value
 * must be free or the start fails naming the option.
 *
 * @param kafkaPort broker client port ({@code --kafka-port})
 * @param registryPort schema registry HTTP port ({@code --registry-port})
 * @param flinkRestPort MiniCluster REST port ({@code --flink-rest-port}); 8081 would clash with
 *     the registry, hence 8082
 * @param streamsQueryPort the streams role's interactive-query HTTP port ({@code --streams-query-port})
 * @param flinkParallelism parallelism of the pools job; the MiniCluster gets twice as many slots
 *     so a second job of the same size (e.g. {@code flink run} against it) still fits
 * @param flinkCheckpointMs checkpoint interval of the pools job; its exactly-once sink makes pools
 *     visible only when a checkpoint completes, so this bounds pool freshness
 * @param flinkStateBackend {@code hashmap} (default: local populations fit in memory and it
 *     starts faster) or {@code rocksdb}
 * @param dataDir where broker logs, Streams state, Flink checkpoints and the registry snapshot
 *     live; null = a temporary directory deleted on close
 * @param topicPrefix prefix of every topic name
 * @param roles which role applications to start
 * @param modelDir the model the worker serves ({@code --model}); null = no worker, no gateway
 * @param workerHttpPort the worker's health/metrics port ({@code --worker-port}, default 7081)
 * @param gatewayPort the HTTP gateway's port ({@code --gateway-port}, default 8090)
 * @param dashboardPort the live dashboard's port ({@code --dashboard-port}, default 8070)
 * @param roleSettings extra configuration keys per role over the stack's own (e.g. the worker's
 *     {@code serving.*} keys, the pools job's {@code pool.*} keys)
 * @param secure {@code --secure}: the broker takes SASL/SCRAM users only (one per role) and the
 *     registry wants basic authentication; the stack writes {@code client.properties} for the CLI
 */
public record StackConfig(
    Integer kafkaPort,
    Integer registryPort,
    Integer flinkRestPort,
    Integer streamsQueryPort,
    int flinkParallelism,
    long flinkCheckpointMs,
    String flinkStateBackend,
    Path dataDir,
    String topicPrefix,
    Set<Role> roles,
    Path modelDir,
    Integer workerHttpPort,
    Integer gatewayPort,
    Integer dashboardPort,
    Map<Role, Map<String, String>> roleSettings,
    boolean secure) {

  public static final int DEFAULT_KAFKA_PORT = 9092;
  public static final int DEFAULT_REGISTRY_PORT = 8081;
  public static final int DEFAULT_FLINK_REST_PORT = 8082;
  public static final int DEFAULT_STREAMS_QUERY_PORT = 7071;
  public static final int DEFAULT_WORKER_HTTP_PORT = 7081;
  public static final int DEFAULT_GATEWAY_PORT = 8090;
  public static final int DEFAULT_DASHBOARD_PORT = 8070;

  public StackConfig {
    checkPort("--kafka-port", kafkaPort);
    checkPort("--registry-port", registryPort);
    checkPort("--flink-rest-port", flinkRestPort);
    checkPort("--streams-query-port", streamsQueryPort);
    checkPort("--worker-port", workerHttpPort);
    checkPort("--gateway-port", gatewayPort);
    checkPort("--dashboard-port", dashboardPort);
    if (flinkParallelism < 1 || flinkParallelism > 64) {
      throw new IllegalArgumentException("--flink-parallelism must be 1-64, got " + flinkParallelism);
    }
    if (flinkCheckpointMs < 100 || flinkCheckpointMs > 600_000) {
      throw new IllegalArgumentException("--flink-checkpoint-ms must be 100-600000, got " + flinkCheckpointMs);
    }
    if (!"hashmap".equals(flinkStateBackend) && !"rocksdb".equals(flinkStateBackend)) {
      throw new IllegalArgumentException("--flink-state-backend must be hashmap or rocksdb, got '"
          + flinkStateBackend + "'");
    }
    if (topicPrefix == null || !topicPrefix.matches("[a-zA-Z0-9._-]{0,200}")) {
      throw new IllegalArgumentException("--topic-prefix '" + topicPrefix
          + "' is invalid: up to 200 characters of [a-zA-Z0-9._-]");
    }
    // EnumSet keeps the declaration order for display; an empty input cannot be copied by EnumSet
    roles = roles.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(roles));
    roleSettings = Map.copyOf(roleSettings);
  }

  /** Well-known ports if free, parallelism 2, temporary data dir, every role. */
  public static StackConfig defaults() {
    return new StackConfig(null, null, null, null, 2, 500, "hashmap", null, Topics.DEFAULT_PREFIX,
        EnumSet.allOf(Role.class), null, null, null, null, Map.of(), false);
  }

  /** Every port 0 (any free port): for tests and for several stacks on one machine. */
  public StackConfig withFreePorts() {
    return new StackConfig(0, 0, 0, 0, flinkParallelism, flinkCheckpointMs, flinkStateBackend, dataDir,
        topicPrefix, roles, modelDir, 0, 0, 0, roleSettings, secure);
  }

  public StackConfig withPorts(Integer kafka, Integer registry, Integer flinkRest, Integer streamsQuery) {
    return new StackConfig(kafka, registry, flinkRest, streamsQuery, flinkParallelism, flinkCheckpointMs,
        flinkStateBackend, dataDir, topicPrefix, roles, modelDir, workerHttpPort, gatewayPort, dashboardPort, roleSettings, secure);
  }

  public StackConfig withFlink(int parallelism, long checkpointMs, String stateBackend) {
    return new StackConfig(kafkaPort, registryPort, flinkRestPort, streamsQueryPort, parallelism, checkpointMs,
        stateBackend, dataDir, topicPrefix, roles, modelDir, workerHttpPort, gatewayPort, dashboardPort, roleSettings, secure);
  }

  public StackConfig withDataDir(Path dir) {
    return new StackConfig(kafkaPort, registryPort, flinkRestPort, streamsQueryPort, flinkParallelism,
        flinkCheckpointMs, flinkStateBackend, dir, topicPrefix, roles, modelDir, workerHttpPort, gatewayPort, dashboardPort, roleSettings, secure);
  }

  public StackConfig withTopicPrefix(String prefix) {
    return new StackConfig(kafkaPort, registryPort, flinkRestPort, streamsQueryPort, flinkParallelism,
        flinkCheckpointMs, flinkStateBackend, dataDir, prefix, roles, modelDir, workerHttpPort, gatewayPort, dashboardPort, roleSettings, secure);
  }

  public StackConfig withRoles(Set<Role> newRoles) {
    return new StackConfig(kafkaPort, registryPort, flinkRestPort, streamsQueryPort, flinkParallelism,
        flinkCheckpointMs, flinkStateBackend, dataDir, topicPrefix, newRoles, modelDir, workerHttpPort, gatewayPort, dashboardPort, roleSettings, secure);
  }

  /** Serve {@code dir} with the worker (and the gateway in front of it). */
  public StackConfig withModel(Path dir) {
    return new StackConfig(kafkaPort, registryPort, flinkRestPort, streamsQueryPort, flinkParallelism,
        flinkCheckpointMs, flinkStateBackend, dataDir, topicPrefix, roles, dir, workerHttpPort, gatewayPort, dashboardPort, roleSettings, secure);
  }

  public StackConfig withServingPorts(Integer worker, Integer gateway) {
    return new StackConfig(kafkaPort, registryPort, flinkRestPort, streamsQueryPort, flinkParallelism,
        flinkCheckpointMs, flinkStateBackend, dataDir, topicPrefix, roles, modelDir, worker, gateway, dashboardPort, roleSettings, secure);
  }

  /** The dashboard's port: null = 8070 if free, else any; 0 = any free port. */
  public StackConfig withDashboardPort(Integer port) {
    return new StackConfig(kafkaPort, registryPort, flinkRestPort, streamsQueryPort, flinkParallelism,
        flinkCheckpointMs, flinkStateBackend, dataDir, topicPrefix, roles, modelDir, workerHttpPort, gatewayPort, port,
        roleSettings, secure);
  }

  /** SASL/SCRAM to the broker and basic authentication to the registry, for every role and client. */
  public StackConfig withSecure(boolean on) {
    return new StackConfig(kafkaPort, registryPort, flinkRestPort, streamsQueryPort, flinkParallelism,
        flinkCheckpointMs, flinkStateBackend, dataDir, topicPrefix, roles, modelDir, workerHttpPort, gatewayPort, dashboardPort,
        roleSettings, on);
  }

  /** {@code settings} added to (and overriding) the keys {@code role} already has here. */
  public StackConfig withRoleSettings(Role role, Map<String, String> settings) {
    Map<Role, Map<String, String>> all = new java.util.EnumMap<>(Role.class);
    all.putAll(roleSettings);
    Map<String, String> merged = new java.util.LinkedHashMap<>(settings(role));
    merged.putAll(settings);
    all.put(role, merged);
    return new StackConfig(kafkaPort, registryPort, flinkRestPort, streamsQueryPort, flinkParallelism,
        flinkCheckpointMs, flinkStateBackend, dataDir, topicPrefix, roles, modelDir, workerHttpPort, gatewayPort, dashboardPort, all, secure);
  }

  /** The extra keys of {@code role} (empty if none). */
  public Map<String, String> settings(Role role) {
    return roleSettings.getOrDefault(role, Map.of());
  }

  private static void checkPort(String option, Integer port) {
    if (port != null && (port < 0 || port > 65535)) {
      throw new IllegalArgumentException(option + " must be 0 (any free port) or 1-65535, got " + port);
    }
  }
}
