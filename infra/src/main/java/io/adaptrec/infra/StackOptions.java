package io.adaptrec.infra;

import io.adaptrec.schemas.Topics;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/** Options of the local stack shared by {@code up} and {@code demo} (a picocli mixin). */
public final class StackOptions {
  @Option(names = "--kafka-port", paramLabel = "PORT",
      description = "Broker port on 127.0.0.1 (default: 9092 if free, else any free port; 0 = any free port).")
  Integer kafkaPort;

  @Option(names = "--registry-port", paramLabel = "PORT",
      description = "Schema registry port (default: 8081 if free, else any free port).")
  Integer registryPort;

  @Option(names = "--flink-rest-port", paramLabel = "PORT",
      description = "Flink MiniCluster REST port (default: 8082 if free, else any free port).")
  Integer flinkRestPort;

  @Option(names = "--streams-query-port", paramLabel = "PORT",
      description = "Interactive-query HTTP port of the streams role (default: 7071 if free, else any free port).")
  Integer streamsQueryPort;

  @Option(names = "--flink-parallelism", paramLabel = "N", defaultValue = "2",
      description = "Parallelism of the Flink job(s), 1-64 (default: ${DEFAULT-VALUE}).")
  int flinkParallelism;

  @Option(names = "--flink-checkpoint-ms", paramLabel = "MS", defaultValue = "500",
      description = "Checkpoint interval of the pools job; its exactly-once output appears per checkpoint (default: ${DEFAULT-VALUE}: pool freshness p99 745 ms at 2,000 interactions/s, BENCHMARKS.md).")
  long flinkCheckpointMs;

  @Option(names = "--flink-state-backend", paramLabel = "NAME", defaultValue = "hashmap",
      description = "hashmap or rocksdb (default: ${DEFAULT-VALUE}).")
  String flinkStateBackend;

  @Option(names = "--topic-prefix", paramLabel = "P", defaultValue = Topics.DEFAULT_PREFIX,
      description = "Topic name prefix (default: ${DEFAULT-VALUE}).")
  String topicPrefix;

  @Option(names = "--roles", paramLabel = "ROLE", split = ",", defaultValue = "streams,pools,worker,gateway,control,dashboard",
      description = "Role applications to run: streams, pools, worker, gateway, refresh (trainer), control (rollout "
          + "controller), dashboard (live web page), or none (default: ${DEFAULT-VALUE}; worker, gateway, refresh and control need --model; refresh is "
          + "opt-in while its known in-process crash is open, see BENCHMARKS.md).")
  List<String> roles;

  @Option(names = "--model", paramLabel = "DIR",
      description = "Model directory the worker serves (written by './adaptrec train --out DIR'); without it no worker runs.")
  Path model;

  @Option(names = "--worker-port", paramLabel = "PORT",
      description = "Worker health/metrics HTTP port (default: 7081 if free, else any free port).")
  Integer workerPort;

  @Option(names = "--gateway-port", paramLabel = "PORT",
      description = "HTTP gateway port, POST /recommendations (default: 8090 if free, else any free port).")
  Integer gatewayPort;

  @Option(names = "--dashboard-port", paramLabel = "PORT",
      description = "Live dashboard port on 127.0.0.1 (default: 8070 if free, else any free port).")
  Integer dashboardPort;

  @Option(names = "--secure",
      description = "SASL/SCRAM to the broker (one user per role, random passwords kept in the data dir) and basic "
          + "authentication to the registry; clients use the client.properties the stack writes (--client-config).")
  boolean secure;

  /** The stack configuration these options describe, on top of {@code base}. */
  StackConfig toConfig(StackConfig base) {
    Set<Role> parsed = EnumSet.noneOf(Role.class);
    for (String r : roles) {
      if (!r.isBlank() && !r.trim().equalsIgnoreCase("none")) {
        parsed.add(Role.parse(r));
      }
    }
    return base
        .withPorts(kafkaPort != null ? kafkaPort : base.kafkaPort(), registryPort != null ? registryPort : base.registryPort(),
            flinkRestPort != null ? flinkRestPort : base.flinkRestPort(),
            streamsQueryPort != null ? streamsQueryPort : base.streamsQueryPort())
        .withFlink(flinkParallelism, flinkCheckpointMs, flinkStateBackend)
        .withTopicPrefix(topicPrefix)
        .withRoles(parsed)
        .withModel(model != null ? model : base.modelDir())
        .withServingPorts(workerPort != null ? workerPort : base.workerHttpPort(),
            gatewayPort != null ? gatewayPort : base.gatewayPort())
        .withDashboardPort(dashboardPort != null ? dashboardPort : base.dashboardPort())
        .withSecure(secure || base.secure());
  }
}
