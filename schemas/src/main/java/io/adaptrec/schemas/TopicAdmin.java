package io.adaptrec.schemas;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates the declared topics on a cluster; safe to run at every start-up. */
public final class TopicAdmin {
  private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);

  /**
   * What {@link #ensureTopics} did.
   *
   * @param created topics that did not exist
   * @param reconfigured existing topics whose cleanup.policy was corrected
   * @param unchanged existing topics already as declared
   * @param fewerPartitions existing topics with fewer partitions than declared: left alone, since
   *     adding partitions moves keys and breaks per-key order; recreate them if that is acceptable
   */
  public record Report(List<String> created, List<String> reconfigured, List<String> unchanged,
      List<String> fewerPartitions) {}

  private TopicAdmin() {}

  /**
   * Makes every topic exist with its declared cleanup policy. Existing topics keep their data;
   * their cleanup.policy is corrected if it differs (a compacted table created as delete would
   * silently lose keys after retention).
   */
  public static Report ensureTopics(Admin admin, Collection<Topic<?, ?>> topics, short replicationFactor,
      Duration timeout) {
    try {
      Set<String> existing = admin.listTopics().names().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      List<NewTopic> toCreate = new ArrayList<>();
      List<Topic<?, ?>> present = new ArrayList<>();
      for (Topic<?, ?> t : topics) {
        if (existing.contains(t.name())) {
          present.add(t);
        } else {
          toCreate.add(t.newTopic(replicationFactor));
        }
      }
      List<String> created = new ArrayList<>();
      if (!toCreate.isEmpty()) {
        CreateTopicsResult result = admin.createTopics(toCreate);
        for (NewTopic nt : toCreate) {
          try {
            result.values().get(nt.name()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            created.add(nt.name());
          } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
              throw e;
            }
            // another process created it between list and create: check it like any existing one
            topics.stream().filter(t -> t.name().equals(nt.name())).forEach(present::add);
          }
        }
      }
      List<String> reconfigured = new ArrayList<>();
      List<String> unchanged = new ArrayList<>();
      List<String> fewer = new ArrayList<>();
      if (!present.isEmpty()) {
        checkExisting(admin, present, timeout, reconfigured, unchanged, fewer);
      }
      Report report = new Report(created, reconfigured, unchanged, fewer);
      LOG.info("Topics: {} created, {} reconfigured, {} unchanged", created.size(), reconfigured.size(),
          unchanged.size());
      return report;
    } catch (ExecutionException e) {
      throw new KafkaException("Could not create topics: " + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new KafkaException("Timed out after " + timeout + " creating topics; is the broker reachable?", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KafkaException("Interrupted while creating topics", e);
    }
  }

  private static void checkExisting(Admin admin, List<Topic<?, ?>> present, Duration timeout,
      List<String> reconfigured, List<String> unchanged, List<String> fewer)
      throws ExecutionException, InterruptedException, TimeoutException {
    List<ConfigResource> resources = present.stream()
        .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t.name())).toList();
    Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all()
        .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    Map<String, TopicDescription> descriptions = admin.describeTopics(present.stream().map(Topic::name).toList())
        .allTopicNames().get(timeout.toMillis(), TimeUnit.MILLISECONDS);

    Map<ConfigResource, Collection<AlterConfigOp>> alterations = new HashMap<>();
    for (Topic<?, ?> t : present) {
      ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, t.name());
      ConfigEntry policy = configs.get(res).get(TopicConfig.CLEANUP_POLICY_CONFIG);
      String actual = policy == null ? TopicConfig.CLEANUP_POLICY_DELETE : policy.value();
      if (!t.cleanupPolicy().configValue().equals(actual)) {
        LOG.warn("Topic {} has cleanup.policy={}, declared {}: correcting", t.name(), actual,
            t.cleanupPolicy().configValue());
        alterations.put(res, List.of(new AlterConfigOp(
            new ConfigEntry(TopicConfig.CLEANUP_POLICY_CONFIG, t.cleanupPolicy().configValue()),
            AlterConfigOp.OpType.SET)));
        reconfigured.add(t.name());
      } else {
        unchanged.add(t.name());
      }
      int partitions = descriptions.get(t.name()).partitions().size();
      if (partitions < t.partitions()) {
        LOG.warn("Topic {} has {} partitions, declared {}: left as is (adding partitions moves keys)",
            t.name(), partitions, t.partitions());
        fewer.add(t.name());
      }
    }
    if (!alterations.isEmpty()) {
      admin.incrementalAlterConfigs(alterations).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      awaitApplied(admin, present, alterations.keySet(), timeout);
    }
  }

  /**
   * The controller acknowledges a config change before brokers serve it; wait until it reads
   * back, so callers (and a second ensureTopics) see the declared state.
   */
  private static void awaitApplied(Admin admin, List<Topic<?, ?>> topics, Collection<ConfigResource> changed,
      Duration timeout) throws ExecutionException, InterruptedException, TimeoutException {
    Map<String, String> wanted = new HashMap<>();
    topics.forEach(t -> wanted.put(t.name(), t.cleanupPolicy().configValue()));
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Map<ConfigResource, Config> now = admin.describeConfigs(changed).all()
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      boolean applied = now.entrySet().stream().allMatch(e -> wanted.get(e.getKey().name())
          .equals(e.getValue().get(TopicConfig.CLEANUP_POLICY_CONFIG).value()));
      if (applied) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new TimeoutException("cleanup.policy change of " + changed + " not visible after " + timeout);
      }
      Thread.sleep(50);
    }
  }
}
