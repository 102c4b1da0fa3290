package io.adaptrec.infra;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The role applications the local stack can run next to the broker, registry and MiniCluster. */
public enum Role {
  /** Kafka Streams UserStateTopology (streams module). */
  STREAMS("streams", "Kafka Streams UserStateTopology: interactions + items -> user-state"),
  /** Flink SimilarUserPools job (flink-jobs module), submitted to the MiniCluster. */
  POOLS("pools", "Flink SimilarUserPools job: user-state -> user-pools"),
  /** The inference worker (inference-worker module): needs a model ({@code --model}). */
  WORKER("worker", "inference worker: rec-requests -> AdaptRec on the live pools -> rec-responses"),
  /** HTTP gateway in front of the worker: POST /recommendations -> JSON. */
  GATEWAY("gateway", "HTTP gateway: POST /recommendations -> rec-requests -> rec-responses -> JSON"),
  /** The trainer (inference-worker module): needs a model. */
  REFRESH("refresh", "trainer: live interactions -> LoRA fine-tuned from production -> adapters"),
  /** The rollout controller (inference-worker module): needs a model (to verify adapters). */
  CONTROL("control", "rollout controller: adapters -> experiments; experiment-metrics -> decisions on rollouts"),
  /** The live dashboard (HTTP page over the topics and consumer groups); works without a model. */
  DASHBOARD("dashboard", "live dashboard: throughput, latency, lag, arms, adapters, dead letters, user lookup");

  private final String cliName;
  private final String description;

  Role(String cliName, String description) {
    this.cliName = cliName;
    this.description = description;
  }

  public String cliName() {
    return cliName;
  }

  public String description() {
    return description;
  }

  /** Parses a CLI name such as {@code streams}; the error lists the accepted names. */
  public static Role parse(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    for (Role r : values()) {
      if (r.cliName.equals(t)) {
        return r;
      }
    }
    throw new IllegalArgumentException("unknown role '" + text + "'; expected one of "
        + Arrays.stream(values()).map(Role::cliName).collect(Collectors.joining(", ")));
  }
}
