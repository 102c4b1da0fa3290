package io.adaptrec.infra.chaos;

import io.adaptrec.avro.AdapterManifest;
import io.adaptrec.avro.Rollout;
import io.adaptrec.avro.RolloutArm;
import io.adaptrec.avro.RolloutState;
import io.adaptrec.schemas.TopicScan;
import io.adaptrec.schemas.Topics;
import io.adaptrec.worker.adapters.Manifests;
import io.adaptrec.worker.model.AdapterStore;
import io.adaptrec.worker.rollout.Controller;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Damaged adapters for the chaos run, each a copy of a real published adapter (the latest with its
 * weights inline on {@code adapters}) with one thing wrong: truncated weights (under their own
 * correct checksum), another base model, NaN weights, a wrong LoRA rank, a checksum that does not
 * match. The controller must reject every one before any traffic (an ABORTED rollout and a dead
 * letter) and no request may ever be served by one.
 */
public final class BadAdapters {
  /** What is wrong with a published adapter. */
  enum Kind { TRUNCATED, WRONG_BASE, NOT_FINITE, WRONG_RANK, CHECKSUM_MISMATCH }

  static final String PREFIX = "chaos-bad-";

  private BadAdapters() {}

  /** A safetensors file with the first tensor's float32 values set to NaN (header and sizes unchanged). */
  public static byte[] nanWeights(byte[] safetensors) {
    byte[] b = safetensors.clone();
    ByteBuffer buf = ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    long headerLen = buf.getLong(0);
    String header = new String(b, 8, (int) headerLen, java.nio.charset.StandardCharsets.UTF_8);
    java.util.regex.Matcher offsets = java.util.regex.Pattern.compile("\"data_offsets\"\\s*:\\s*\\[\\s*(\\d+)\\s*,\\s*(\\d+)")
        .matcher(header);
    if (!offsets.find()) {
      throw new IllegalArgumentException("not a safetensors file with tensors");
    }
    int start = 8 + (int) headerLen + Integer.parseInt(offsets.group(1));
    int end = 8 + (int) headerLen + Integer.parseInt(offsets.group(2));
    for (int i = start; i + 4 <= end; i += 4) {
      buf.putFloat(i, Float.NaN);
    }
    return b;
  }


  /** Publishes one adapter of each kind; returns version → kind. */
  static Map<String, Kind> publish(Topics topics, Properties client) throws Exception {
    AdapterManifest source = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
    while (source == null) {
      source = latestInline(topics, client);
      if (source == null) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("no adapter with inline weights on " + topics.adapters().name()
              + " to damage within 180 s (the trainer publishes one after refresh.min-new live interactions)");
        }
        Thread.sleep(3000);
      }
    }
    AdapterStore.Manifest m = Manifests.fromAvro(source);
    ByteBuffer payload = source.getPayload().duplicate();
    byte[] good = new byte[payload.remaining()];
    payload.get(good);
    Map<String, Kind> published = new LinkedHashMap<>();
    try (KafkaProducer<String, AdapterManifest> p = new KafkaProducer<>(client,
        topics.adapters().keySerde().serializer(), topics.adapters().valueSerde().serializer())) {
      for (Kind k : Kind.values()) {
        byte[] w = switch (k) {
          case TRUNCATED -> Arrays.copyOf(good, good.length / 2);
          case NOT_FINITE -> nanWeights(good);
          default -> good;
        };
        String sha = AdapterStore.sha256(w);
        String version = PREFIX + k.name().toLowerCase().replace('_', '-') + "-" + AdapterStore.sha256(
            (sha + k + Instant.now()).getBytes(java.nio.charset.StandardCharsets.UTF_8)).substring(0, 10);
        AdapterStore.Manifest bad = new AdapterStore.Manifest(version,
            k == Kind.WRONG_BASE ? "reclm-not-this-model" : m.baseModel(),
            k == Kind.WRONG_RANK ? m.rank() * 2 : m.rank(), m.alpha(), m.targetModules(), m.version(), Instant.now(),
            Map.of("chaos", 1.0), k == Kind.CHECKSUM_MISMATCH ? AdapterStore.sha256(new byte[] {1, 2, 3}) : sha,
            w.length, m.location(), m.shapes(), m.engine(), m.engineVersion());
        p.send(new ProducerRecord<>(topics.adapters().name(), version, Manifests.toAvro(bad, w))).get(30, TimeUnit.SECONDS);
        published.put(version, k);
      }
    }
    return published;
  }

  /** The latest published adapter whose weights travel inline (not a damaged one), or null. */
  private static AdapterManifest latestInline(Topics topics, Properties client) {
    List<AdapterManifest> all = new ArrayList<>();
    TopicScan.toEnd(client, topics.adapters().name(), Duration.ofSeconds(60), r -> {
      if (r.value() != null) {
        try {
          all.add(topics.adapters().valueSerde().deserializer().deserialize(r.topic(), r.value()));
        } catch (RuntimeException e) {
          // skipped: the controller dead-letters what it cannot read
        }
      }
    });
    AdapterManifest source = null;
    for (AdapterManifest a : all) {
      if (a.getPayload() != null && !a.getVersion().startsWith(PREFIX) && !a.getVersion().startsWith("drill-")) {
        source = a;
      }
    }
    return source;
  }

  /**
   * Adapter versions the controller rejected before traffic, with the reason: treatments of ABORTED
   * experiments whose reason says verification failed ({@link Controller#REJECTED}), not those
   * superseded by a newer adapter while they waited.
   */
  static Map<String, String> rejected(Topics topics, Properties client) {
    Map<String, Rollout> latest = new HashMap<>();
    TopicScan.toEnd(client, topics.rollouts().name(), Duration.ofSeconds(60), r -> {
      if (r.value() != null) {
        try {
          Rollout ro = topics.rollouts().valueSerde().deserializer().deserialize(r.topic(), r.value());
          latest.put(ro.getExperimentId(), ro);
        } catch (RuntimeException e) {
          // not ours to judge
        }
      }
    });
    Map<String, String> out = new HashMap<>();
    for (Rollout ro : latest.values()) {
      if (ro.getState() == RolloutState.ABORTED && ro.getReason() != null && ro.getReason().contains(Controller.REJECTED)) {
        for (RolloutArm a : ro.getArms()) {
          if (!"control".equals(a.getArm())) {
            out.put(a.getAdapterVersion(), ro.getReason());
          }
        }
      }
    }
    return out;
  }
}
