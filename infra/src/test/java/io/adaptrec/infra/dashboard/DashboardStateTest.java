package io.adaptrec.infra.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.HistoryEntry;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.InteractionKind;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.Neighbour;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ResponseStatus;
import io.adaptrec.avro.Rollout;
import io.adaptrec.avro.RolloutAction;
import io.adaptrec.avro.RolloutArm;
import io.adaptrec.avro.RolloutDecision;
import io.adaptrec.avro.RolloutState;
import io.adaptrec.avro.ScoredItem;
import io.adaptrec.avro.SelectedDemonstration;
import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import io.adaptrec.schemas.AvroSerdeConfig;
import io.adaptrec.schemas.EmbeddedSchemaRegistry;
import io.adaptrec.schemas.Topic;
import io.adaptrec.schemas.Topics;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The dashboard's state from real wire-format records (through a registry), read back as its JSON maps. */
class DashboardStateTest {
  private static EmbeddedSchemaRegistry registry;
  private static Topics topics;
  private static final long NOW = 1_700_000_000_000L;

  @BeforeAll
  static void registry() {
    registry = EmbeddedSchemaRegistry.start(0);
    topics = new Topics("dash-test.", AvroSerdeConfig.of(registry.url()));
  }

  @AfterAll
  static void stop() {
    registry.close();
  }

  private static <K, V> void put(DashboardState s, Topic<K, V> t, K key, V value, long timestamp) {
    s.apply(t.name(), t.keySerde().serializer().serialize(t.name(), key),
        value == null ? null : t.valueSerde().serializer().serialize(t.name(), value), timestamp, NOW);
  }

  private static RecommendationResponse response(long user, String arm, String experiment, String adapter,
      long latencyMicros, ResponseStatus status, long at) {
    return RecommendationResponse.newBuilder().setRequestId("r-" + user + "-" + at).setUserId(user)
        .setItems(List.of(new ScoredItem(11L, 0.9f), new ScoredItem(12L, 0.5f))).setDemonstrations(List.of(7L))
        .setAdapterVersion(adapter).setArm(arm).setExperimentId(experiment).setLatencyMicros(latencyMicros)
        .setStatus(status).setError(null).setRespondedAt(Instant.ofEpochMilli(at)).setPath("adaptrec")
        .setSelected(List.of(new SelectedDemonstration(7L, 0.8f, 0.7f, List.of(10L, 11L), 12L)))
        .setPoolEmbeddingVersion("reclm-x").setPoolVersion(3).setCandidatesGenerated(true).build();
  }

  @Test
  void countsRatesLatencyAndArmsFromTheRecords() {
    DashboardState s = new DashboardState(topics);
    for (int i = 0; i < 30; i++) {   // 30 interactions in the last 10 s, 5 long ago (history read on catch-up)
      put(s, topics.interactions(), 1L, new Interaction(1L, 10L + i % 3, Instant.ofEpochMilli(5), InteractionKind.VIEW, null),
          NOW - 1000 - i * 300);
    }
    for (int i = 0; i < 5; i++) {
      put(s, topics.interactions(), 2L, new Interaction(2L, 10L, Instant.ofEpochMilli(5), InteractionKind.VIEW, null),
          NOW - 3_600_000);
    }
    for (int i = 0; i < 99; i++) {
      put(s, topics.recResponses(), 1L, response(1, "control", null, "v1", 2_000, ResponseStatus.OK, NOW - 2000),
          NOW - 2000);
    }
    put(s, topics.recResponses(), 2L, response(2, "control", null, "v1", 900_000, ResponseStatus.ERROR, NOW - 2000),
        NOW - 2000);
    s.apply(topics.recResponses().name(), null, new byte[] {1, 2, 3}, NOW, NOW);   // not wire format

    Map<String, Object> o = s.overview(NOW, Optional.empty());
    Map<String, Object> t = map(o.get("throughput"));
    assertThat(map(t.get("interactions"))).containsEntry("total", 35L).containsEntry("perSecond", 3.0);
    assertThat(map(t.get("responses"))).containsEntry("total", 100L).containsEntry("perSecond", 10.0);
    Map<String, Object> all = map(map(o.get("latency")).get("all"));
    assertThat(all.get("count")).isEqualTo(100L);
    // bucket upper bounds: 2 ms lies in the bucket (1.90, 2.26] ms; the one slow response is above the p99
    assertThat((Double) all.get("p50Ms")).isBetween(2.0, 2.4);
    assertThat((Double) all.get("p99Ms")).isBetween(2.0, 2.4);
    assertThat(map(map(o.get("latency")).get("byStatus"))).containsEntry("OK", 99L).containsEntry("ERROR", 1L);
    assertThat(list(o.get("arms"))).singleElement().satisfies(a -> assertThat(a).containsEntry("arm", "control")
        .containsEntry("adapterVersion", "v1").containsEntry("responses", 100L).containsEntry("errors", 1L));
    assertThat(map(o.get("undecodable"))).containsEntry(topics.recResponses().name(), 1L);
    assertThat(map(o.get("adapters"))).containsEntry("production", "v1").containsEntry("worker", null);
  }

  @Test
  void experimentsAdaptersAndDeadLetters() {
    DashboardState s = new DashboardState(topics);
    AdapterManifest m = AdapterManifest.newBuilder().setVersion("v2").setBaseModel("b").setRank(4).setAlpha(8f)
        .setTargetModules(List.of("q")).setParentVersion("v1").setCreatedAt(Instant.ofEpochMilli(NOW - 5000))
        .setOfflineMetrics(Map.of("hr1", 0.2)).setSha256("x").setSizeBytes(123).setLocation(null)
        .setPayload(java.nio.ByteBuffer.wrap(new byte[] {1})).setShapes(Map.of()).setEngine("PyTorch")
        .setEngineVersion("2").build();
    put(s, topics.adapters(), "v2", m, NOW);
    String why = "adapter v2 rejected before any traffic (CHECKSUM): sha256 differs";
    Rollout r = new Rollout("exp-v2", List.of(new RolloutArm("control", "v1", 100), new RolloutArm("treatment", "v2", 0)),
        RolloutState.ABORTED, why, Instant.ofEpochMilli(NOW - 1000), null);
    put(s, topics.rollouts(), "exp-v2", r, NOW);
    RolloutDecision d = RolloutDecision.newBuilder().setExperimentId("exp-v2").setAction(RolloutAction.ABORT)
        .setActor("controller").setReason(why).setPrimaryMetric("hit@1").setStatistic(0).setBoundary(0)
        .setPValue(Double.NaN).setEffect(0).setEffectLow(0).setEffectHigh(0).setSamplesControl(0).setSamplesTreatment(0)
        .setDecidedAt(Instant.ofEpochMilli(NOW - 1000)).build();
    put(s, topics.rolloutDecisions(), "exp-v2", d, NOW);
    put(s, topics.deadLetter(), topics.adapters().name(), DeadLetter.newBuilder().setTopic(topics.adapters().name())
        .setPartition(0).setOffset(-1).setError(why).setSource("rollout-controller").setRawKey(null).setRawBytes(null)
        .setFailedAt(Instant.ofEpochMilli(NOW - 1000)).build(), NOW);

    Map<String, Object> o = s.overview(NOW, Optional.of(new WorkerView("w1", "v1", null, List.of("v1"), Map.of(),
        0, 4, null)));
    Map<String, Object> e = list(o.get("experiments")).get(0);
    assertThat(e).containsEntry("experimentId", "exp-v2").containsEntry("state", "ABORTED").containsEntry("decisions", 1L);
    assertThat(map(e.get("lastDecision"))).containsEntry("action", "ABORT").containsEntry("pValue", null);
    Map<String, Object> a = list(map(o.get("adapters")).get("published")).get(0);
    assertThat(a).containsEntry("version", "v2").containsEntry("status", "rejected").containsEntry("reason", why)
        .containsEntry("onWorker", false);
    assertThat(map(map(o.get("adapters")).get("worker"))).containsEntry("instanceId", "w1").containsEntry("ready", true);
    Map<String, Object> dl = map(o.get("deadLetters"));
    assertThat(dl.get("total")).isEqualTo(1L);
    assertThat(list(dl.get("bySource"))).singleElement().satisfies(x -> assertThat(x)
        .containsEntry("source", "rollout-controller").containsEntry("count", 1L));
  }

  @Test
  void userLookupJoinsStatePoolResponseAndTitles() {
    DashboardState s = new DashboardState(topics);
    assertThat(s.user(5)).isEmpty();
    for (long i = 10; i <= 12; i++) {
      put(s, topics.items(), i, new Item(i, "Title " + i, List.of(), Map.of(), Instant.ofEpochMilli(1)), NOW);
    }
    put(s, topics.userState(), 5L, new UserState(5L, List.of(new HistoryEntry(10L, Instant.ofEpochMilli(100), 4f),
        new HistoryEntry(11L, Instant.ofEpochMilli(200), null)), List.of(0.1f), "reclm-x", Instant.ofEpochMilli(300)), NOW);
    put(s, topics.userPools(), 5L, new SimilarUserPool(5L, List.of(new Neighbour(7L, 0.7f)), "reclm-x",
        Instant.ofEpochMilli(400), 3L), NOW);
    put(s, topics.recResponses(), 5L, response(5, "control", null, "v1", 1000, ResponseStatus.OK, NOW - 500), NOW - 500);
    put(s, topics.interactions(), 5L, new Interaction(5L, 12L, Instant.ofEpochMilli(500), InteractionKind.VIEW, null),
        NOW - 100);

    Map<String, Object> u = s.user(5).orElseThrow();
    List<Map<String, Object>> history = list(map(u.get("state")).get("history"));
    assertThat(history).extracting(h -> h.get("title")).containsExactly("Title 10", "Title 11");
    assertThat(list(map(u.get("pool")).get("neighbours"))).singleElement().satisfies(n -> assertThat(n).containsEntry("userId", 7L));
    Map<String, Object> r = map(u.get("lastResponse"));
    assertThat(r).containsEntry("arm", "control").containsEntry("latencyMs", 1.0);
    Map<String, Object> demo = list(r.get("demonstrations")).get(0);
    assertThat(demo).containsEntry("userId", 7L);
    assertThat(list(demo.get("watched"))).extracting(w -> w.get("title")).containsExactly("Title 10", "Title 11");
    assertThat(map(demo.get("choice"))).containsEntry("title", "Title 12");
    assertThat(map(u.get("afterResponse"))).containsEntry("itemId", 12L).containsEntry("rankInResponse", 2);

    put(s, topics.userState(), 5L, null, NOW);   // a tombstone forgets the state, not the rest
    assertThat(s.user(5).orElseThrow().get("state")).isNull();
  }

  @Test
  void slidingCountsForgetSecondsThatLeftTheWindow() {
    SlidingCounts c = new SlidingCounts(12, true);
    c.record(NOW + 200, NOW + 300, 1000);   // the current second: counted in the window, not in the rate yet
    c.record(NOW - 1500, NOW, 1000);
    c.record(NOW - 20_000, NOW, 1000);   // older than the window
    assertThat(c.count(NOW)).isEqualTo(2);
    assertThat(c.rate(10, NOW)).isEqualTo(0.1);
    assertThat(c.latencies(NOW).count()).isEqualTo(2);
    assertThat(c.count(NOW + 30_000)).isZero();
    assertThat(c.rate(10, NOW + 30_000)).isZero();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> list(Object o) {
    return (List<Map<String, Object>>) o;
  }
}
