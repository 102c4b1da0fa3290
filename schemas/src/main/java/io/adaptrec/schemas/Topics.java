package io.adaptrec.schemas;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.ItemEmbedding;
import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.Rollout;
import io.adaptrec.avro.RolloutDecision;
import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.Topic.CleanupPolicy;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;

/**
 * The declaration of every AdaptRec topic (ARCHITECTURE.md section 3): one immutable instance per
 * deployment, built from the topic-name prefix and the registry settings, shared by all roles.
 *
 * <p>Keys are Avro primitives through the same registry serde as the values: {@code long} for
 * user- and item-keyed topics, {@code string} for the others.
 */
public final class Topics {
  /** The prefix every topic name starts with unless configured otherwise. */
  public static final String DEFAULT_PREFIX = "adaptrec.";

  private final String prefix;
  private final RegistryClient registry;
  private final Topic<Long, Item> items;
  private final Topic<Long, Interaction> interactions;
  private final Topic<Long, ItemEmbedding> itemEmbeddings;
  private final Topic<Long, UserState> userState;
  private final Topic<Long, SimilarUserPool> userPools;
  private final Topic<Long, RecommendationRequest> recRequests;
  private final Topic<Long, RecommendationResponse> recResponses;
  private final Topic<String, AdapterManifest> adapters;
  private final Topic<String, Rollout> rollouts;
  private final Topic<String, RolloutDecision> rolloutDecisions;
  private final Topic<String, ArmMetrics> experimentMetrics;
  private final Topic<String, DeadLetter> deadLetter;

  /**
   * @param prefix prepended to every topic name, e.g. {@code "adaptrec."} or {@code "test42.adaptrec."};
   *     may be empty
   * @param serdeConfig registry settings shared by all serdes (one registry client is shared too)
   */
  public Topics(String prefix, AvroSerdeConfig serdeConfig) {
    if (prefix == null || !prefix.matches("[a-zA-Z0-9._-]{0,200}")) {
      throw new IllegalArgumentException("Invalid topic prefix '" + prefix
          + "': up to 200 characters of [a-zA-Z0-9._-]");
    }
    this.prefix = prefix;
    this.registry = new RegistryClient(serdeConfig);
    // partition counts: user-keyed streams carry the traffic and bound Streams/Flink parallelism;
    // adapters and rollouts are tiny control topics where one partition keeps a total order
    items = longKeyed("items", Item.class, CleanupPolicy.COMPACT, 3);
    interactions = longKeyed("interactions", Interaction.class, CleanupPolicy.DELETE, 6);
    itemEmbeddings = longKeyed("item-embeddings", ItemEmbedding.class, CleanupPolicy.COMPACT, 3);
    userState = longKeyed("user-state", UserState.class, CleanupPolicy.COMPACT, 6);
    userPools = longKeyed("user-pools", SimilarUserPool.class, CleanupPolicy.COMPACT, 6);
    recRequests = longKeyed("rec-requests", RecommendationRequest.class, CleanupPolicy.DELETE, 6);
    recResponses = longKeyed("rec-responses", RecommendationResponse.class, CleanupPolicy.DELETE, 6);
    adapters = stringKeyed("adapters", AdapterManifest.class, CleanupPolicy.COMPACT, 1);
    rollouts = stringKeyed("rollouts", Rollout.class, CleanupPolicy.COMPACT, 1);
    // rollouts keeps only each experiment's latest state; the decision log keeps every decision
    rolloutDecisions = stringKeyed("rollout-decisions", RolloutDecision.class, CleanupPolicy.DELETE, 1);
    experimentMetrics = stringKeyed("experiment-metrics", ArmMetrics.class, CleanupPolicy.DELETE, 3);
    deadLetter = stringKeyed("dead-letter", DeadLetter.class, CleanupPolicy.DELETE, 1);
  }

  /** The default prefix {@value #DEFAULT_PREFIX}. */
  public Topics(AvroSerdeConfig serdeConfig) {
    this(DEFAULT_PREFIX, serdeConfig);
  }

  public String prefix() {
    return prefix;
  }

  /** The registry client all these serdes share, e.g. to pre-register schemas at start-up. */
  public RegistryClient registry() {
    return registry;
  }

  /** Catalogue, keyed by itemId; compacted. */
  public Topic<Long, Item> items() {
    return items;
  }

  /** User events, keyed by userId. */
  public Topic<Long, Interaction> interactions() {
    return interactions;
  }

  /** Item vectors per model version, keyed by itemId; compacted. */
  public Topic<Long, ItemEmbedding> itemEmbeddings() {
    return itemEmbeddings;
  }

  /** Per-user history and sequence embedding, keyed by userId; compacted. */
  public Topic<Long, UserState> userState() {
    return userState;
  }

  /** Per-user similar-user pools, keyed by userId; compacted. */
  public Topic<Long, SimilarUserPool> userPools() {
    return userPools;
  }

  /** Recommendation requests, keyed by userId. */
  public Topic<Long, RecommendationRequest> recRequests() {
    return recRequests;
  }

  /** Recommendation responses, keyed by userId. */
  public Topic<Long, RecommendationResponse> recResponses() {
    return recResponses;
  }

  /** LoRA adapter manifests, keyed by adapter version; compacted. */
  public Topic<String, AdapterManifest> adapters() {
    return adapters;
  }

  /** A/B experiments, keyed by experimentId; compacted. */
  public Topic<String, Rollout> rollouts() {
    return rollouts;
  }

  /** Every rollout decision (automatic or by a person), keyed by experimentId; retention, never compacted. */
  public Topic<String, RolloutDecision> rolloutDecisions() {
    return rolloutDecisions;
  }

  /** Online arm metrics, keyed by {@link #armKey(String, String) "experimentId/arm"}. */
  public Topic<String, ArmMetrics> experimentMetrics() {
    return experimentMetrics;
  }

  /** Records that could not be processed, keyed by their source topic name. */
  public Topic<String, DeadLetter> deadLetter() {
    return deadLetter;
  }

  /** Every topic, in data-flow order, e.g. for {@link TopicAdmin#ensureTopics}. */
  public List<Topic<?, ?>> all() {
    return List.of(items, interactions, itemEmbeddings, userState, userPools, recRequests, recResponses,
        adapters, rollouts, rolloutDecisions, experimentMetrics, deadLetter);
  }

  /** The key of {@link #experimentMetrics()} records. */
  public static String armKey(String experimentId, String arm) {
    return experimentId + "/" + arm;
  }

  private <V extends SpecificRecord> Topic<Long, V> longKeyed(
      String name, Class<V> type, CleanupPolicy policy, int partitions) {
    return new Topic<>(prefix + name, AvroSerde.forLong(registry, true), value(type), policy, partitions);
  }

  private <V extends SpecificRecord> Topic<String, V> stringKeyed(
      String name, Class<V> type, CleanupPolicy policy, int partitions) {
    return new Topic<>(prefix + name, AvroSerde.forString(registry, true), value(type), policy, partitions);
  }

  private <V extends SpecificRecord> Serde<V> value(Class<V> type) {
    return AvroSerde.forSpecific(type, registry, false);
  }
}
