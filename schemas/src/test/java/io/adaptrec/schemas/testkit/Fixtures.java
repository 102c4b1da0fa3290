package io.adaptrec.schemas.testkit;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.ArmMetrics;
import io.adaptrec.avro.DeadLetter;
import io.adaptrec.avro.HistoryEntry;
import io.adaptrec.avro.Interaction;
import io.adaptrec.avro.InteractionKind;
import io.adaptrec.avro.Item;
import io.adaptrec.avro.ItemEmbedding;
import io.adaptrec.avro.Neighbour;
import io.adaptrec.avro.RecommendationRequest;
import io.adaptrec.avro.RecommendationResponse;
import io.adaptrec.avro.ResponseStatus;
import io.adaptrec.avro.Rollout;
import io.adaptrec.avro.RolloutArm;
import io.adaptrec.avro.RolloutState;
import io.adaptrec.avro.ScoredItem;
import io.adaptrec.avro.SimilarUserPool;
import io.adaptrec.avro.UserState;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Named fixtures for time and data, shared across modules: {@code T0}, {@code T0.plusSeconds(5)},
 * {@code interaction(user, item, at)}. Every builder returns a complete, valid record; adjust it
 * with the generated {@code newBuilder(record)} when a test needs something else.
 */
public final class Fixtures {
  /** A fixed, readable instant all test times are relative to. */
  public static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  private Fixtures() {}

  public static Interaction interaction(long user, long item, Instant at) {
    return new Interaction(user, item, at, InteractionKind.VIEW, null);
  }

  public static Interaction rating(long user, long item, Instant at, float stars) {
    return new Interaction(user, item, at, InteractionKind.RATE, stars);
  }

  public static Item item(long id, String title, String... genres) {
    return new Item(id, title, List.of(genres), Map.of(), T0);
  }

  public static ItemEmbedding itemEmbedding(long item, String modelVersion, float... vector) {
    return new ItemEmbedding(item, modelVersion, floats(vector));
  }

  /** A user whose history is {@code items}, one minute apart from T0, with a given embedding. */
  public static UserState userState(long user, List<Long> items, float... embedding) {
    List<HistoryEntry> history = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      history.add(new HistoryEntry(items.get(i), T0.plusSeconds(60L * i), null));
    }
    return new UserState(user, history, floats(embedding), "text-v1", T0.plusSeconds(60L * items.size()));
  }

  /** A pool whose neighbours have the given ids and descending similarities 0.9, 0.8, ... */
  public static SimilarUserPool pool(long user, long... neighbours) {
    List<Neighbour> list = new ArrayList<>();
    for (int i = 0; i < neighbours.length; i++) {
      list.add(new Neighbour(neighbours[i], 0.9f - 0.1f * i));
    }
    return new SimilarUserPool(user, list, "text-v1", T0, 1L);
  }

  public static RecommendationRequest request(String requestId, long user, int k, long... candidates) {
    List<Long> c = candidates.length == 0 ? null : longs(candidates);
    return new RecommendationRequest(requestId, user, c, k, T0, null);
  }

  /** An OK response ranking {@code items} in order with descending scores. */
  public static RecommendationResponse response(String requestId, long user, long... items) {
    List<ScoredItem> ranked = new ArrayList<>();
    for (int i = 0; i < items.length; i++) {
      ranked.add(new ScoredItem(items[i], -1.0f - i));
    }
    return RecommendationResponse.newBuilder()
        .setRequestId(requestId).setUserId(user).setItems(ranked).setDemonstrations(List.of())
        .setAdapterVersion("base").setArm("control").setLatencyMicros(1_500)
        .setStatus(ResponseStatus.OK).setRespondedAt(T0.plusMillis(2)).build();
  }

  public static AdapterManifest adapter(String version, byte[] weights) {
    return AdapterManifest.newBuilder()
        .setVersion(version).setBaseModel("reclm-test").setRank(8).setAlpha(16f)
        .setTargetModules(List.of("attn.q", "attn.v")).setCreatedAt(T0)
        .setOfflineMetrics(Map.of("llara.hr@1", 0.42)).setSha256(sha256(weights))
        .setSizeBytes(weights.length).setPayload(ByteBuffer.wrap(weights)).build();
  }

  /** A RUNNING experiment splitting traffic between two adapter versions. */
  public static Rollout rollout(String experimentId, String control, String candidate, int candidatePercent) {
    return new Rollout(experimentId, List.of(
        new RolloutArm("control", control, 100 - candidatePercent),
        new RolloutArm("candidate", candidate, candidatePercent)), RolloutState.RUNNING, "test", T0, null);
  }

  public static ArmMetrics armMetrics(String experimentId, String arm, long served, long hitsAt1) {
    return ArmMetrics.newBuilder()
        .setExperimentId(experimentId).setArm(arm).setAdapterVersion("base")
        .setWindowStart(T0).setWindowEnd(T0.plusSeconds(60)).setServed(served).setOutcomes(served)
        .setHitsAt1(hitsAt1).setNdcgSum(hitsAt1 * 1.0).setUpdatedAt(T0.plusSeconds(60)).build();
  }

  public static DeadLetter deadLetter(String topic, long offset, String error, byte[] raw) {
    return DeadLetter.newBuilder()
        .setTopic(topic).setPartition(0).setOffset(offset).setError(error).setSource("test")
        .setRawBytes(ByteBuffer.wrap(raw)).setFailedAt(T0).build();
  }

  public static List<Float> floats(float... values) {
    List<Float> out = new ArrayList<>(values.length);
    for (float v : values) {
      out.add(v);
    }
    return out;
  }

  public static List<Long> longs(long... values) {
    List<Long> out = new ArrayList<>(values.length);
    for (long v : values) {
      out.add(v);
    }
    return out;
  }

  private static String sha256(byte[] bytes) {
    try {
      byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
      StringBuilder sb = new StringBuilder();
      for (byte b : d) {
        sb.append(String.format("%02x", b));
      }
      return sb.toString();
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("JDK without SHA-256", e);
    }
  }

  /** UTF-8 bytes, for raw payload fixtures. */
  public static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
