package io.adaptrec.infra.dashboard;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;

/**
 * Consumer-group lag through the Kafka {@link Admin} API, as {@code kafka-consumer-groups --describe}
 * computes it: for every consumer group with committed offsets on this deployment's topics (names
 * starting with the topic prefix), the committed offset of each partition against its end offset
 * ({@code read_committed}: the last stable offset, so open transactions and commit markers do not
 * count as lag). Refreshed at most once per {@link #REFRESH}; callers in between get the last result.
 */
final class GroupLag implements AutoCloseable {
  static final Duration REFRESH = Duration.ofSeconds(2);
  private static final long CALL_TIMEOUT_MS = 5_000;

  private final Admin admin;
  private final String topicPrefix;
  private final Map<String, String> roles;
  private final LongSupplier clock;
  private boolean read;
  private long refreshedAt;
  private Map<String, Object> last = Map.of("groups", List.of(), "error", "not read yet");

  /**
   * @param client {@code bootstrap.servers} and any security settings
   * @param roles  known group ids with the role that owns them (labels; unknown groups show their id)
   */
  GroupLag(Properties client, String topicPrefix, Map<String, String> roles, LongSupplier clock) {
    Properties p = new Properties();
    p.putAll(client);
    p.putIfAbsent("client.id", "adaptrec-dashboard-lag");
    this.admin = Admin.create(p);
    this.topicPrefix = topicPrefix;
    this.roles = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(roles));
    this.clock = clock;
  }

  /** {@code {"refreshedAt", "groups": [{group, role, state, lag, partitions, topics: {topic: lag}}], "error"}}. */
  synchronized Map<String, Object> get() {
    long now = clock.getAsLong();
    if (read && now - refreshedAt < REFRESH.toMillis()) {
      return last;
    }
    read = true;
    refreshedAt = now;
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("refreshedAt", now);
    try {
      out.put("groups", read());
      out.put("error", null);
    } catch (Exception e) {
      Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
      out.put("groups", last.getOrDefault("groups", List.of()));
      out.put("error", "consumer groups unavailable: " + cause);
    }
    last = out;
    return out;
  }

  private List<Map<String, Object>> read() throws Exception {
    List<GroupListing> groups = new ArrayList<>(admin.listGroups().all().get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS));
    groups.sort(java.util.Comparator.comparing(GroupListing::groupId));
    Map<String, Map<TopicPartition, Long>> committed = new LinkedHashMap<>();
    Map<String, String> states = new HashMap<>();
    Map<String, String> listed = new LinkedHashMap<>();
    for (GroupListing g : groups) {
      GroupType type = g.type().orElse(GroupType.CLASSIC);
      if (type == GroupType.CLASSIC || type == GroupType.CONSUMER) {   // share and streams groups: other offset APIs
        listed.put(g.groupId(), g.groupState().map(Object::toString).orElse("UNKNOWN"));
      }
    }
    // a known group is asked even when not listed: a group without members (e.g. Flink's, which only
    // commits offsets on checkpoints) may not be listed by every broker version
    for (String known : roles.keySet()) {
      listed.putIfAbsent(known, null);
    }
    for (Map.Entry<String, String> g : listed.entrySet()) {
      Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(g.getKey())
          .partitionsToOffsetAndMetadata().get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS);
      Map<TopicPartition, Long> mine = new HashMap<>();
      offsets.forEach((tp, om) -> {
        if (om != null && tp.topic().startsWith(topicPrefix)) {
          mine.put(tp, om.offset());
        }
      });
      if (!mine.isEmpty() || roles.containsKey(g.getKey())) {
        committed.put(g.getKey(), mine);
        states.put(g.getKey(), mine.isEmpty() ? "no committed offsets" : g.getValue() == null ? "not listed" : g.getValue());
      }
    }
    Map<TopicPartition, OffsetSpec> ask = new HashMap<>();
    committed.values().forEach(m -> m.keySet().forEach(tp -> ask.put(tp, OffsetSpec.latest())));
    Map<TopicPartition, Long> end = new HashMap<>();
    if (!ask.isEmpty()) {
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> r = admin.listOffsets(ask,
          new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS);
      r.forEach((tp, info) -> end.put(tp, info.offset()));
    }
    List<Map<String, Object>> out = new ArrayList<>();
    committed.forEach((group, offsets) -> {
      Map<String, Long> byTopic = new TreeMap<>();
      long total = 0;
      for (Map.Entry<TopicPartition, Long> e : offsets.entrySet()) {
        long lag = Math.max(0, end.getOrDefault(e.getKey(), e.getValue()) - e.getValue());
        byTopic.merge(e.getKey().topic(), lag, Long::sum);
        total += lag;
      }
      Map<String, Object> g = new LinkedHashMap<>();
      g.put("group", group);
      g.put("role", roles.getOrDefault(group, null));
      g.put("state", states.get(group));
      g.put("lag", offsets.isEmpty() ? null : total);
      g.put("partitions", offsets.size());
      g.put("topics", byTopic);
      out.add(g);
    });
    // known roles first, in the order they were given, then the rest by id
    List<String> order = new ArrayList<>(roles.keySet());
    out.sort(java.util.Comparator.comparing((Map<String, Object> g) -> {
      int i = order.indexOf((String) g.get("group"));
      return i < 0 ? Integer.MAX_VALUE : i;
    }).thenComparing(g -> (String) g.get("group")));
    return out;
  }

  @Override
  public void close() {
    admin.close(Duration.ofSeconds(2));
  }
}
