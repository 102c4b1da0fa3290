package io.adaptrec.infra.dashboard;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.HistoryEntry;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.Neighbour;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ResponseStatus;
import io.adaptrec.avro.Rollout;
import io.adaptrec.avro.RolloutArm;
import io.adaptrec.avro.RolloutDecision;
import io.adaptrec.avro.RolloutState;
import io.adaptrec.avro.ScoredItem;
import io.adaptrec.avro.SelectedDemonstration;
import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.LatencyHistogram;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.rollout.ArmTotals;
import io.adaptrec.worker.rollout.Router;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What the dashboard knows, built from the topics' records one at a time ({@link #apply}) and read
 * as JSON-able maps ({@link #overview}, {@link #user}). Memory is bounded by the population, not by
 * the traffic: counts and sliding windows for interactions, requests and responses; one fixed-bucket
 * latency histogram; the latest user-state, pool and response per user (the history without its
 * embedding); titles per item; the latest aggregate of every experiment-metrics window; the last
 * {@value #KEEP_DECISIONS} decisions per experiment and the last {@value #KEEP_DEAD_LETTERS}
 * dead letters. Thread-safe: every method takes the instance lock.
 */
final class DashboardState {
  static final int RATE_WINDOW_SECONDS = 10;
  static final int LATENCY_WINDOW_SECONDS = 60;
  static final int KEEP_DECISIONS = 10;
  static final int KEEP_DEAD_LETTERS = 20;
  private static final int KEEP_INTERACTIONS_PER_USER = 8;

  /** A user's sliding history as user-state last carried it (without the embedding). */
  private record History(long[] items, long[] times, Float[] ratings, String embeddingVersion, long updatedAt) {}

  /** Served counts of one (experiment, arm, adapter) as the responses name them. */
  private static final class Served {
    long responses;
    long errors;
    long lastAt;
  }

  private final Topics topics;
  private final String interactions;
  private final String items;
  private final String userState;
  private final String userPools;
  private final String recRequests;
  private final String recResponses;
  private final String adapters;
  private final String rollouts;
  private final String decisions;
  private final String metrics;
  private final String deadLetter;

  private long interactionCount;
  private long requestCount;
  private long responseCount;
  private final SlidingCounts interactionWindow = new SlidingCounts(RATE_WINDOW_SECONDS + 2, false);
  private final SlidingCounts requestWindow = new SlidingCounts(RATE_WINDOW_SECONDS + 2, false);
  private final SlidingCounts responseWindow = new SlidingCounts(LATENCY_WINDOW_SECONDS + 2, true);
  private final LatencyHistogram latency = new LatencyHistogram();
  private final Map<String, Long> byStatus = new TreeMap<>();
  private final Map<String, Served> servedByArm = new TreeMap<>();
  private final Map<Long, String> titles = new HashMap<>();
  private final Map<Long, History> histories = new HashMap<>();
  private final Map<Long, SimilarUserPool> pools = new HashMap<>();
  private final Map<Long, RecommendationResponse> lastResponses = new HashMap<>();
  /** Per user: the latest interactions as {itemId, record timestamp} pairs, oldest first. */
  private final Map<Long, Deque<long[]>> recentInteractions = new HashMap<>();
  private final Map<String, AdapterManifest> manifests = new LinkedHashMap<>();
  private final Map<String, Rollout> experiments = new LinkedHashMap<>();
  private final Map<String, Deque<RolloutDecision>> decisionLog = new HashMap<>();
  private final Map<String, Long> decisionCounts = new HashMap<>();
  /** experimentId/arm -> windowStart -> the latest totals of that window. */
  private final Map<String, Map<Long, ArmTotals>> windows = new HashMap<>();
  private final Map<String, Long> deadLetterCounts = new TreeMap<>();
  private final Deque<DeadLetter> latestDeadLetters = new ArrayDeque<>();
  private long deadLetterCount;
  private final Map<String, Long> undecodable = new TreeMap<>();

  DashboardState(Topics topics) {
    this.topics = topics;
    this.interactions = topics.interactions().name();
    this.items = topics.items().name();
    this.userState = topics.userState().name();
    this.userPools = topics.userPools().name();
    this.recRequests = topics.recRequests().name();
    this.recResponses = topics.recResponses().name();
    this.adapters = topics.adapters().name();
    this.rollouts = topics.rollouts().name();
    this.decisions = topics.rolloutDecisions().name();
    this.metrics = topics.experimentMetrics().name();
    this.deadLetter = topics.deadLetter().name();
  }

  /** The topics this state is built from. */
  List<String> topicNames() {
    return List.of(interactions, items, userState, userPools, recRequests, recResponses, adapters, rollouts,
        decisions, metrics, deadLetter);
  }

  /**
   * Applies one record (raw Confluent-wire-format bytes); a record that does not decode is counted
   * per topic and skipped.
   *
   * @param timestamp the record's Kafka timestamp (for rates)
   * @param now       wall-clock now (for the sliding windows)
   */
  synchronized void apply(String topic, byte[] key, byte[] value, long timestamp, long now) {
    try {
      applyDecoded(topic, key, value, timestamp, now);
    } catch (RuntimeException e) {
      undecodable.merge(topic, 1L, Long::sum);
    }
  }

  private void applyDecoded(String topic, byte[] key, byte[] value, long timestamp, long now) {
    if (topic.equals(interactions)) {
      interactionCount++;
      interactionWindow.record(timestamp, now, -1);
      if (value != null) {
        Interaction i = topics.interactions().valueSerde().deserializer().deserialize(topic, value);
        Deque<long[]> recent = recentInteractions.computeIfAbsent(i.getUserId(), u -> new ArrayDeque<>());
        recent.addLast(new long[] {i.getItemId(), timestamp});
        if (recent.size() > KEEP_INTERACTIONS_PER_USER) {
          recent.removeFirst();
        }
      }
    } else if (topic.equals(recRequests)) {
      requestCount++;
      requestWindow.record(timestamp, now, -1);
    } else if (topic.equals(recResponses)) {
      if (value == null) {
        return;
      }
      RecommendationResponse r = topics.recResponses().valueSerde().deserializer().deserialize(topic, value);
      responseCount++;
      responseWindow.record(timestamp, now, r.getLatencyMicros());
      latency.record(r.getLatencyMicros());
      byStatus.merge(r.getStatus().name(), 1L, Long::sum);
      Served s = servedByArm.computeIfAbsent(armKey(r.getExperimentId(), r.getArm(), r.getAdapterVersion()),
          k -> new Served());
      s.responses++;
      if (isError(r.getStatus())) {
        s.errors++;
      }
      s.lastAt = Math.max(s.lastAt, r.getRespondedAt().toEpochMilli());
      RecommendationResponse previous = lastResponses.get(r.getUserId());
      if (previous == null || !previous.getRespondedAt().isAfter(r.getRespondedAt())) {
        lastResponses.put(r.getUserId(), r);
      }
    } else if (topic.equals(items)) {
      Long id = topics.items().keySerde().deserializer().deserialize(topic, key);
      if (value == null) {
        titles.remove(id);
      } else {
        Item item = topics.items().valueSerde().deserializer().deserialize(topic, value);
        titles.put(item.getItemId(), item.getTitle());
      }
    } else if (topic.equals(userState)) {
      Long user = topics.userState().keySerde().deserializer().deserialize(topic, key);
      if (value == null) {
        histories.remove(user);
        return;
      }
      UserState s = topics.userState().valueSerde().deserializer().deserialize(topic, value);
      List<HistoryEntry> h = s.getHistory();
      long[] itemIds = new long[h.size()];
      long[] times = new long[h.size()];
      Float[] ratings = new Float[h.size()];
      for (int i = 0; i < h.size(); i++) {
        itemIds[i] = h.get(i).getItemId();
        times[i] = h.get(i).getEventTime().toEpochMilli();
        ratings[i] = h.get(i).getRating();
      }
      histories.put(s.getUserId(), new History(itemIds, times, ratings, s.getEmbeddingVersion(),
          s.getUpdatedAt().toEpochMilli()));
    } else if (topic.equals(userPools)) {
      Long user = topics.userPools().keySerde().deserializer().deserialize(topic, key);
      if (value == null) {
        pools.remove(user);
      } else {
        SimilarUserPool p = topics.userPools().valueSerde().deserializer().deserialize(topic, value);
        pools.put(p.getUserId(), p);
      }
    } else if (topic.equals(adapters)) {
      String version = topics.adapters().keySerde().deserializer().deserialize(topic, key);
      if (value == null) {
        manifests.remove(version);
      } else {
        AdapterManifest m = topics.adapters().valueSerde().deserializer().deserialize(topic, value);
        m.setPayload(null);   // the weights: not needed here, and the largest part
        manifests.put(m.getVersion(), m);
      }
    } else if (topic.equals(rollouts)) {
      String id = topics.rollouts().keySerde().deserializer().deserialize(topic, key);
      if (value == null) {
        experiments.remove(id);
      } else {
        experiments.put(id, topics.rollouts().valueSerde().deserializer().deserialize(topic, value));
      }
    } else if (topic.equals(decisions)) {
      if (value == null) {
        return;
      }
      RolloutDecision d = topics.rolloutDecisions().valueSerde().deserializer().deserialize(topic, value);
      Deque<RolloutDecision> log = decisionLog.computeIfAbsent(d.getExperimentId(), k -> new ArrayDeque<>());
      log.addLast(d);
      if (log.size() > KEEP_DECISIONS) {
        log.removeFirst();
      }
      decisionCounts.merge(d.getExperimentId(), 1L, Long::sum);
    } else if (topic.equals(metrics)) {
      if (value == null) {
        return;
      }
      ArmMetrics m = topics.experimentMetrics().valueSerde().deserializer().deserialize(topic, value);
      ArmTotals t = ArmTotals.of(m);   // throws on an inconsistent record: counted as undecodable
      windows.computeIfAbsent(Topics.armKey(m.getExperimentId(), m.getArm()), k -> new HashMap<>())
          .put(m.getWindowStart().toEpochMilli(), t);
    } else if (topic.equals(deadLetter)) {
      if (value == null) {
        return;
      }
      DeadLetter d = topics.deadLetter().valueSerde().deserializer().deserialize(topic, value);
      d.setRawBytes(null);
      d.setRawKey(null);
      deadLetterCount++;
      deadLetterCounts.merge(d.getSource() + "\u0000" + d.getTopic(), 1L, Long::sum);
      latestDeadLetters.addLast(d);
      if (latestDeadLetters.size() > KEEP_DEAD_LETTERS) {
        latestDeadLetters.removeFirst();
      }
    }
  }

  private static boolean isError(ResponseStatus s) {
    return s == ResponseStatus.ERROR || s == ResponseStatus.INVALID_REQUEST || s == ResponseStatus.TIMEOUT;
  }

  private static String armKey(String experimentId, String arm, String adapter) {
    return (experimentId == null ? "" : experimentId) + "\u0000" + arm + "\u0000" + adapter;
  }

  /**
   * Everything but the user lookup, as JSON-able maps.
   *
   * @param worker what an in-process worker reports, if one runs here
   */
  synchronized Map<String, Object> overview(long now, Optional<WorkerView> worker) {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("throughput", throughput(now));
    o.put("latency", latency(now));
    o.put("arms", arms());
    o.put("experiments", experiments());
    o.put("adapters", adapters(worker));
    o.put("deadLetters", deadLetters());
    Map<String, Object> pop = new LinkedHashMap<>();
    pop.put("items", titles.size());
    pop.put("usersWithState", histories.size());
    pop.put("usersWithPool", pools.size());
    pop.put("usersWithResponse", lastResponses.size());
    o.put("population", pop);
    o.put("undecodable", new TreeMap<>(undecodable));
    return o;
  }

  private Map<String, Object> throughput(long now) {
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("windowSeconds", RATE_WINDOW_SECONDS);
    t.put("interactions", rate(interactionCount, interactionWindow.rate(RATE_WINDOW_SECONDS, now)));
    t.put("requests", rate(requestCount, requestWindow.rate(RATE_WINDOW_SECONDS, now)));
    t.put("responses", rate(responseCount, responseWindow.rate(RATE_WINDOW_SECONDS, now)));
    return t;
  }

  private static Map<String, Object> rate(long total, double perSecond) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("total", total);
    m.put("perSecond", Math.round(perSecond * 10) / 10.0);
    return m;
  }

  private Map<String, Object> latency(long now) {
    Map<String, Object> l = new LinkedHashMap<>();
    l.put("all", quantiles(latency));
    Map<String, Object> recent = quantiles(responseWindow.latencies(now));
    recent.put("windowSeconds", LATENCY_WINDOW_SECONDS);
    l.put("recent", recent);
    l.put("byStatus", new TreeMap<>(byStatus));
    return l;
  }

  private static Map<String, Object> quantiles(LatencyHistogram h) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("count", h.count());
    m.put("p50Ms", h.count() == 0 ? null : millis(h.quantileMicros(0.5)));
    m.put("p99Ms", h.count() == 0 ? null : millis(h.quantileMicros(0.99)));
    m.put("upToMs", millis(LatencyHistogram.BOUNDS_MICROS[LatencyHistogram.BOUNDS_MICROS.length - 1]));
    return m;
  }

  /** Milliseconds, one decimal; null for the histogram's unbounded last bucket (slower than its last bound). */
  private static Double millis(long micros) {
    return micros == Long.MAX_VALUE ? null : Math.round(micros / 100.0) / 10.0;
  }

  /** Responses per (experiment, arm, adapter), as the responses themselves name them. */
  private List<Map<String, Object>> arms() {
    List<Map<String, Object>> out = new ArrayList<>();
    servedByArm.forEach((k, s) -> {
      String[] parts = k.split("\u0000", -1);
      Map<String, Object> a = new LinkedHashMap<>();
      a.put("experimentId", parts[0].isEmpty() ? null : parts[0]);
      a.put("arm", parts[1]);
      a.put("adapterVersion", parts[2]);
      a.put("responses", s.responses);
      a.put("errors", s.errors);
      a.put("lastAt", s.lastAt);
      out.add(a);
    });
    return out;
  }

  private List<Map<String, Object>> experiments() {
    List<Rollout> all = new ArrayList<>(experiments.values());
    all.sort(Comparator.comparing(Rollout::getUpdatedAt).reversed());
    List<Map<String, Object>> out = new ArrayList<>();
    for (Rollout r : all) {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("experimentId", r.getExperimentId());
      e.put("state", r.getState().name());
      e.put("reason", r.getReason());
      e.put("updatedAt", r.getUpdatedAt().toEpochMilli());
      List<Map<String, Object>> arms = new ArrayList<>();
      for (RolloutArm a : r.getArms()) {
        ArmTotals t = totals(r.getExperimentId(), a.getArm());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("arm", a.getArm());
        m.put("adapterVersion", a.getAdapterVersion());
        m.put("trafficPercent", a.getTrafficPercent());
        m.put("served", t.served());
        m.put("errors", t.errors());
        m.put("outcomes", t.outcomes());
        m.put("hitAt1", t.outcomes() == 0 ? null : t.hitsAt1() / (double) t.outcomes());
        m.put("hitAt5", t.outcomes() == 0 ? null : t.hitsAt5() / (double) t.outcomes());
        m.put("ndcg", t.outcomes() == 0 ? null : t.ndcgSum() / t.outcomes());
        m.put("p99Ms", t.latency().count() == 0 ? null : millis(t.latency().quantileMicros(0.99)));
        Served s = servedByArm.get(armKey(r.getExperimentId(), a.getArm(), a.getAdapterVersion()));
        m.put("responsesSeen", s == null ? 0 : s.responses);
        arms.add(m);
      }
      e.put("arms", arms);
      Deque<RolloutDecision> log = decisionLog.getOrDefault(r.getExperimentId(), new ArrayDeque<>());
      e.put("decisions", decisionCounts.getOrDefault(r.getExperimentId(), 0L));
      e.put("lastDecision", log.isEmpty() ? (r.getDecision() == null ? null : decision(r.getDecision()))
          : decision(log.getLast()));
      List<Map<String, Object>> recent = new ArrayList<>();
      log.descendingIterator().forEachRemaining(d -> recent.add(decision(d)));
      e.put("recentDecisions", recent);
      out.add(e);
    }
    return out;
  }

  private ArmTotals totals(String experimentId, String arm) {
    ArmTotals t = ArmTotals.ZERO;
    for (ArmTotals w : windows.getOrDefault(Topics.armKey(experimentId, arm), Map.of()).values()) {
      t = t.plus(w);
    }
    return t;
  }

  private static Map<String, Object> decision(RolloutDecision d) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("action", d.getAction().name());
    m.put("actor", d.getActor());
    m.put("reason", d.getReason());
    m.put("decidedAt", d.getDecidedAt().toEpochMilli());
    m.put("primaryMetric", d.getPrimaryMetric());
    m.put("pValue", finite(d.getPValue()));
    m.put("effect", finite(d.getEffect()));
    m.put("effectLow", finite(d.getEffectLow()));
    m.put("effectHigh", finite(d.getEffectHigh()));
    m.put("samplesControl", d.getSamplesControl());
    m.put("samplesTreatment", d.getSamplesTreatment());
    return m;
  }

  private static Double finite(double x) {
    return Double.isFinite(x) ? x : null;
  }

  /**
   * The adapter everyone gets outside an experiment as the topics say: the treatment of the most
   * recently promoted experiment; before any promotion, the adapter of the latest control-arm
   * response outside an experiment (what the workers actually served); null when neither exists.
   */
  private String production() {
    Optional<Rollout> promoted = experiments.values().stream().filter(r -> r.getState() == RolloutState.PROMOTED)
        .max(Comparator.comparing(Rollout::getUpdatedAt));
    if (promoted.isPresent()) {
      return arm(promoted.get(), Router.TREATMENT);
    }
    String best = null;
    long at = Long.MIN_VALUE;
    for (Map.Entry<String, Served> e : servedByArm.entrySet()) {
      String[] parts = e.getKey().split("\u0000", -1);
      if (parts[0].isEmpty() && parts[1].equals(Router.CONTROL) && e.getValue().lastAt > at) {
        at = e.getValue().lastAt;
        best = parts[2];
      }
    }
    return best;
  }

  private static String arm(Rollout r, String name) {
    return r.getArms().stream().filter(a -> a.getArm().equals(name)).map(RolloutArm::getAdapterVersion)
        .findFirst().orElse(null);
  }

  private Map<String, Object> adapters(Optional<WorkerView> worker) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("production", production());
    List<AdapterManifest> all = new ArrayList<>(manifests.values());
    all.sort(Comparator.comparing(AdapterManifest::getCreatedAt));
    List<Map<String, Object>> published = new ArrayList<>();
    String production = production();
    for (AdapterManifest m : all) {
      Map<String, Object> a = new LinkedHashMap<>();
      a.put("version", m.getVersion());
      a.put("parentVersion", m.getParentVersion());
      a.put("createdAt", m.getCreatedAt().toEpochMilli());
      a.put("rank", m.getRank());
      a.put("sizeBytes", m.getSizeBytes());
      a.put("offlineMetrics", new TreeMap<>(m.getOfflineMetrics()));
      Rollout r = experiments.values().stream().filter(x -> m.getVersion().equals(arm(x, Router.TREATMENT)))
          .max(Comparator.comparing(Rollout::getUpdatedAt)).orElse(null);
      String status;
      String reason = null;
      if (worker.isPresent() && worker.get().rejected().containsKey(m.getVersion())) {
        status = "rejected by worker";
        reason = worker.get().rejected().get(m.getVersion());
      } else if (r == null) {
        status = m.getVersion().equals(production) ? "production" : "published, no experiment yet";
      } else {
        reason = r.getReason();
        status = switch (r.getState()) {
          case ABORTED -> r.getReason() != null && r.getReason().contains("rejected") ? "rejected" : "aborted";
          case PENDING -> "waiting for an experiment";
          case RUNNING -> "in experiment (treatment)";
          case PAUSED -> "in a paused experiment";
          case PROMOTED -> m.getVersion().equals(production) ? "production" : "promoted, since replaced";
          case ROLLED_BACK -> "rolled back";
        };
      }
      a.put("experimentId", r == null ? null : r.getExperimentId());
      a.put("status", status);
      a.put("reason", reason);
      a.put("onWorker", worker.map(w -> w.loaded().contains(m.getVersion())).orElse(null));
      published.add(a);
    }
    out.put("published", published);
    if (worker.isPresent()) {
      WorkerView w = worker.get();
      Map<String, Object> v = new LinkedHashMap<>();
      v.put("instanceId", w.instanceId());
      v.put("production", w.production());
      v.put("experimentId", w.experimentId());
      v.put("loaded", w.loaded());
      v.put("rejected", new TreeMap<>(w.rejected()));
      v.put("answered", w.answered());
      v.put("ready", w.notReady() == null);
      v.put("notReady", w.notReady());
      out.put("worker", v);
    } else {
      out.put("worker", null);
    }
    return out;
  }

  private Map<String, Object> deadLetters() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("total", deadLetterCount);
    List<Map<String, Object>> by = new ArrayList<>();
    deadLetterCounts.forEach((k, n) -> {
      String[] parts = k.split("\u0000", -1);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("source", parts[0]);
      m.put("topic", parts[1]);
      m.put("count", n);
      by.add(m);
    });
    out.put("bySource", by);
    List<Map<String, Object>> latest = new ArrayList<>();
    latestDeadLetters.descendingIterator().forEachRemaining(d -> {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("failedAt", d.getFailedAt().toEpochMilli());
      m.put("source", d.getSource());
      m.put("topic", d.getTopic());
      m.put("partition", d.getPartition());
      m.put("offset", d.getOffset());
      m.put("error", d.getError().length() > 400 ? d.getError().substring(0, 400) + "..." : d.getError());
      latest.add(m);
    });
    out.put("latest", latest);
    return out;
  }

  /**
   * One user: their history from user-state, their pool from user-pools, their last recommendation
   * from rec-responses with its demonstrations, and the first interaction seen after it; titles
   * from items where known. Empty when no topic knows the user.
   */
  synchronized Optional<Map<String, Object>> user(long id) {
    History h = histories.get(id);
    SimilarUserPool p = pools.get(id);
    RecommendationResponse r = lastResponses.get(id);
    if (h == null && p == null && r == null) {
      return Optional.empty();
    }
    Map<String, Object> u = new LinkedHashMap<>();
    u.put("userId", id);
    if (h == null) {
      u.put("state", null);
    } else {
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("updatedAt", h.updatedAt());
      s.put("embeddingVersion", h.embeddingVersion());
      List<Map<String, Object>> entries = new ArrayList<>();
      for (int i = 0; i < h.items().length; i++) {
        Map<String, Object> e = item(h.items()[i]);
        e.put("eventTime", h.times()[i]);
        e.put("rating", h.ratings()[i]);
        entries.add(e);
      }
      s.put("history", entries);
      u.put("state", s);
    }
    if (p == null) {
      u.put("pool", null);
    } else {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("embeddingVersion", p.getVersion());
      m.put("poolVersion", p.getPoolVersion());
      m.put("updatedAt", p.getUpdatedAt().toEpochMilli());
      List<Map<String, Object>> ns = new ArrayList<>();
      for (Neighbour n : p.getNeighbours()) {
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("userId", n.getUserId());
        x.put("similarity", n.getSimilarity());
        ns.add(x);
      }
      m.put("neighbours", ns);
      u.put("pool", m);
    }
    u.put("lastResponse", r == null ? null : response(r));
    u.put("afterResponse", r == null ? null : firstInteractionAfter(id, r));
    return Optional.of(u);
  }

  private Map<String, Object> response(RecommendationResponse r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("requestId", r.getRequestId());
    m.put("status", r.getStatus().name());
    m.put("path", r.getPath());
    m.put("respondedAt", r.getRespondedAt().toEpochMilli());
    m.put("latencyMs", r.getLatencyMicros() / 1000.0);
    m.put("adapterVersion", r.getAdapterVersion());
    m.put("arm", r.getArm());
    m.put("experimentId", r.getExperimentId());
    m.put("error", r.getError());
    List<Map<String, Object>> ranked = new ArrayList<>();
    for (ScoredItem s : r.getItems()) {
      Map<String, Object> x = item(s.getItemId());
      x.put("score", s.getScore());
      ranked.add(x);
    }
    m.put("items", ranked);
    List<Map<String, Object>> demos = new ArrayList<>();
    for (SelectedDemonstration d : r.getSelected()) {
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("userId", d.getUserId());
      x.put("similarity", d.getSimilarity());
      x.put("selectionScore", d.getSelectionScore());
      List<Map<String, Object>> watched = new ArrayList<>();
      d.getWatched().forEach(w -> watched.add(item(w)));
      x.put("watched", watched);
      x.put("choice", item(d.getChoice()));
      demos.add(x);
    }
    m.put("demonstrations", demos);
    return m;
  }

  /** The user's first interaction recorded at or after the response (among the last few kept), with its rank in it. */
  private Map<String, Object> firstInteractionAfter(long user, RecommendationResponse r) {
    long at = r.getRespondedAt().toEpochMilli();
    for (long[] i : recentInteractions.getOrDefault(user, new ArrayDeque<>())) {
      if (i[1] >= at) {
        Map<String, Object> m = item(i[0]);
        m.put("at", i[1]);
        Integer rank = null;
        for (int k = 0; k < r.getItems().size(); k++) {
          if (r.getItems().get(k).getItemId() == i[0]) {
            rank = k + 1;
            break;
          }
        }
        m.put("rankInResponse", rank);
        return m;
      }
    }
    return null;
  }

  private Map<String, Object> item(long id) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("itemId", id);
    m.put("title", titles.get(id));
    return m;
  }
}
